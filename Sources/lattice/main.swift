import LatticeCLI
import LatticeCommandLine

await LatticeCommand.runAsRoot()
