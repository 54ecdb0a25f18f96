import LatticeBench
import LatticeCommandLine

await BenchCommand.runAsRoot()
