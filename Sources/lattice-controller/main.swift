import LatticeController
import LatticeCommandLine

await ControllerCommand.runAsRoot()
