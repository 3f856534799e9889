// The ids of the Ringside commands: stable, documented in docs/extension.md, used by tests in a
// real VS Code. extension/contributes/commands.json contributes exactly these (a test checks).

export const COMMAND_IDS = [
  'ringside.runDemo', 'ringside.pause', 'ringside.resume', 'ringside.reset', 'ringside.powerOff', 'ringside.attachDisk',
  'ringside.detachDisk', 'ringside.plugNetwork', 'ringside.unplugNetwork', 'ringside.startCapture', 'ringside.stopCapture',
  'ringside.showExitStatistics', 'ringside.translateAddress', 'ringside.openConsole', 'ringside.takeSnapshot', 'ringside.restoreSnapshot',
  'ringside.renameSnapshot', 'ringside.deleteSnapshot', 'ringside.saveSnapshot', 'ringside.loadSnapshot',
] as const;
export type CommandId = (typeof COMMAND_IDS)[number];
