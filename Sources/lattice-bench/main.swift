import LatticeBench

await BenchCommand.runAsRoot()
