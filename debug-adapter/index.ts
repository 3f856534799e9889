// debug-adapter: the Debug Adapter Protocol server around vmm-core (harts as threads, symbols,
// breakpoints, ring and trap filters, stepping, memory, custom requests). It owns the launch
// schema package.json contributes; nothing here imports vscode.

export { RingsideSession, RequestError, type SessionOptions } from './session';
export { startDebugServer } from './attach';
export { serveSessions } from './main';
export { LAUNCH_SCHEMA, ATTACH_SCHEMA, validateLaunchAttributes, validateAttachAttributes, debuggerContribution } from './launch-schema';
export { EXCEPTION_FILTERS } from './filters';
