import MeshgateLoad

ProcessResources.ignoreSIGPIPE()
MeshgateBench.main()
