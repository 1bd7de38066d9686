// What bench/save-threads.mjs and bench/threads.mjs share: a child's lines, one at a time, and
// the CPU ticks of each thread of a process from /proc/<pid>/task/*/stat (Linux only).
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** The next line a child prints (lines are queued until asked for). */
export function linesOf(child) {
  const queued = [];
  let waiting;
  createInterface({ input: child.stdout }).on('line', (line) => (waiting ? (waiting(line), (waiting = undefined)) : queued.push(line)));
  return () => (queued.length > 0 ? Promise.resolve(queued.shift()) : new Promise((resolve) => (waiting = resolve)));
}

/** CPU ticks of each thread of `pid`, by thread id: `[user, system]` (ticks are 10 ms here). */
export function threadTicks(pid) {
  const ticks = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      ticks.set(tid, [Number(fields[11]), Number(fields[12])]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ticks;
}
