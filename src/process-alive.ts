/**
 * Whether a process runs: for files named by the process that wrote them (a state directory's
 * temporary files, a service's bundle), to tell one still in use from one left by a process
 * that died.
 * @module
 */

/** Whether process `pid` runs (as this user or another: EPERM says it exists). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
