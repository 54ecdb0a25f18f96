import LatticeController

await ControllerCommand.runAsRoot()
