// Preloaded into every benchmark server process (NODE_OPTIONS, with --expose-gc; see bench/gc.ts)
// so the driver can ask for a full garbage collection before it reads RSS in the idle scenario:
// the figure is then the memory connections hold, not how much handshake garbage happens to be
// left. Worker processes forked by a server inherit NODE_OPTIONS, and so this hook.
if (typeof globalThis.gc === 'function') process.on('SIGUSR2', () => globalThis.gc());
