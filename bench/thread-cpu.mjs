// What bench/save-threads.mjs and bench/threads.mjs share: a server started, the load
// generator run against it, and the CPU ticks of each of the server's threads from
// /proc/<pid>/task/*/stat (Linux only) just before "go" and just after the result.
import { spawn } from 'node:child_process';
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

/**
 * Seconds of CPU, `[user, system]`, each group of threads used between `before` and `after`
 * (of {@link threadsUnderLoad}); `groupOf(tid)` names a thread's group, one of `groups`.
 */
export function secondsByGroup({ before, after }, groups, groupOf) {
  const seconds = Object.fromEntries(groups.map((group) => [group, [0, 0]]));
  for (const [tid, [user, system]] of after) {
    const [userBefore, systemBefore] = before.get(tid) ?? [0, 0];
    const sum = seconds[groupOf(tid)];
    sum[0] += (user - userBefore) / 100;
    sum[1] += (system - systemBefore) / 100;
  }
  return seconds;
}

/**
 * Starts `node <serverArgs>` in `root`, runs bench/load.ts with `plan` (its port filled in) and
 * returns the server's threads' ticks when it first listened (`early`, their ids), just before
 * "go" (`before`) and just after the result (`after`), with the result. `beforeGo(port)` and
 * `afterResult(port)` run outside the window (e.g. reading /metrics); their values come back.
 */
export async function threadsUnderLoad(root, serverArgs, plan, { beforeGo, afterResult } = {}) {
  const server = spawn(process.execPath, serverArgs, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const { port } = JSON.parse(await linesOf(server)());
    const early = new Set(threadTicks(server.pid).keys());
    const load = spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', JSON.stringify({ ...plan, port })], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const next = linesOf(load);
      await next(); // every client connected (and the warm-up delivered)
      const beforeValue = await beforeGo?.(port);
      const before = threadTicks(server.pid);
      load.stdin.write('go\n');
      const result = JSON.parse(await next());
      const after = threadTicks(server.pid);
      const afterValue = await afterResult?.(port);
      return { serverPid: String(server.pid), early, before, after, result, beforeValue, afterValue };
    } finally {
      load.kill();
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  }
}
