import LatticeInit

InitCommand.main()
