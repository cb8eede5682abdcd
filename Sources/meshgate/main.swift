import MeshgateCLI

await MeshgateMain.run()
