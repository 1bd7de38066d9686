// CPU time and resident memory of a server, read from /proc from outside: the figure is then
// independent of whatever the process thinks of itself, and the same for every server. Linux only.
//
// A server may fork (`stateroom serve --workers N` runs worker processes), so every figure is
// summed over the process *tree*: the pid and all its descendants, found through
// /proc/<pid>/task/<tid>/children (or, on kernels built without it, the PPid of every process).
// Worker threads need no walking: a process's stat and status already cover all its threads.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second (`getconf CLK_TCK`, almost always 100). */
export const CLOCK_TICKS: number = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/** Reads a /proc file, or undefined when the process has gone meanwhile (a tree changes while we walk it). */
function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Direct children of `pid`: the union of its threads' `children` lists (any thread may have forked). */
function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) => (readProc(`/proc/${pid}/task/${tid}/children`) ?? '').split(/\s+/).filter(Boolean).map(Number));
}

/** The same, for kernels without CONFIG_PROC_CHILDREN: every process whose PPid is `pid`. */
function childrenByParentScan(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => /^PPid:\s*(\d+)$/m.exec(readProc(`/proc/${entry}/status`) ?? '')?.[1] === String(pid))
    .map(Number);
}

const hasChildrenFiles = existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

/** The processes `pid` started itself (not their children). */
export function directChildren(pid: number): number[] {
  return hasChildrenFiles ? childrenOf(pid) : childrenByParentScan(pid);
}

/** `pid` and all its descendants (only `pid` itself when it has none). */
export function processTree(pid: number): number[] {
  const tree: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (tree.includes(next)) continue;
    tree.push(next);
    pending.push(...directChildren(next));
  }
  return tree;
}

/**
 * CPU seconds one process has used: utime + stime (its own threads) plus cutime + cstime (its
 * children that have exited and been waited for). Counting the latter keeps a tree's total from
 * dropping when a worker exits mid-measurement: its time moves into its parent's cutime.
 */
function processCpuSeconds(pid: number, which: 'all' | 'system'): number {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return 0;
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14), stime (15), cutime (16), cstime (17) are fields[11..14].
  const system = Number(fields[12]) + Number(fields[14]);
  return (which === 'system' ? system : Number(fields[11]) + Number(fields[13]) + system) / CLOCK_TICKS;
}

/** Resident memory of one process in KiB (VmRSS), 0 if it has gone or is a zombie. */
export function processRssKiB(pid: number): number {
  const match = /^VmRSS:\s*(\d+)\s*kB$/m.exec(readProc(`/proc/${pid}/status`) ?? '');
  return match ? Number(match[1]) : 0;
}

/** CPU seconds (user + system) that `pid` and its descendants have used so far. */
export function cpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + processCpuSeconds(each, 'all'), 0);
}

/**
 * The system part of {@link cpuSeconds}: time in the kernel on behalf of `pid` and its
 * descendants (stime + cstime) — system calls, and on loopback the receiving side's TCP work,
 * which the sender's `write` does.
 */
export function systemCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + processCpuSeconds(each, 'system'), 0);
}

/**
 * Resident memory of `pid` and its descendants, in KiB. This is RSS, not PSS: pages shared
 * between processes (the node binary's text) count once per process, as `ps` and `top` show them.
 */
export function rssKiB(pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + processRssKiB(each), 0);
}
