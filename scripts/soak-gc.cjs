// Preloaded into the soak's server process (with --expose-gc): SIGUSR2 runs a full garbage
// collection, so the soak can tell memory still held from garbage not yet collected.
process.on('SIGUSR2', () => globalThis.gc?.());
