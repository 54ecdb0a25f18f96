import LatticeProxy

await ProxyMain.run()
