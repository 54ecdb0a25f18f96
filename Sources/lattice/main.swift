import LatticeCLI

await LatticeCommand.runAsRoot()
