// Preloaded into the soak's server processes (with --expose-gc; workers inherit it): SIGUSR2
// runs a full garbage collection and reports the heap used after it on stderr, so the soak
// can tell memory still held from garbage not yet collected, in every process.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  process.stderr.write(`soak-gc pid=${process.pid} heapUsed=${process.memoryUsage().heapUsed}\n`);
});
