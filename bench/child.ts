// The driver's child processes (a server, a load generator): started with node, spoken to in
// JSON lines on stdout, stopped with SIGTERM. Their stderr is passed through as it comes, and
// its last lines are kept so a child that dies can be reported by its own error message.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { processTree } from './proc.js';

export interface Child {
  readonly what: string;
  readonly process: ChildProcess;
  readonly pid: number;
  readonly lines: Interface;
  /** The most telling recent stderr line (an `Error: …` line if there was one), or ''. */
  lastError(): string;
}

const KEPT_STDERR_LINES = 40;

export function start(what: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Child {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  // Drained to the end, so a chatty child never blocks on a full pipe.
  const lines = createInterface({ input: child.stdout });
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    process.stderr.write(`  ${what}: ${line}\n`);
    stderr.push(line);
    if (stderr.length > KEPT_STDERR_LINES) stderr.shift();
  });
  return { what, process: child, pid: child.pid ?? 0, lines, lastError: () => mostTelling(stderr) };
}

/** From a Node crash's stderr (source line, caret, `Error: …`, stack, `Node.js v20…`), the `Error: …` line. */
function mostTelling(stderr: readonly string[]): string {
  const meaningful = stderr.map((line) => line.trim()).filter((line) => line !== '' && !/^at |^Node\.js v/.test(line));
  return meaningful.findLast((line) => /^\w*(Error|Exception)\b/.test(line)) ?? meaningful.at(-1) ?? '';
}

/** Resolves with the next stdout line of `child` that parses as JSON; rejects if it exits or takes longer than `timeoutMs`. */
export function nextJson<T>(child: Child, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      child.lines.off('line', onLine);
      child.process.off('exit', onExit);
      clearTimeout(timer);
    };
    const onLine = (line: string): void => {
      if (!line.startsWith('{')) return;
      done();
      resolve(JSON.parse(line) as T);
    };
    // 'exit' can come before the last stdout lines are read; give those a moment to arrive.
    const onExit = (code: number | null, signal: string | null): void => {
      setTimeout(() => {
        done();
        const error = child.lastError();
        reject(new Error(`${child.what} exited (${signal ?? code}) before answering${error ? `: ${error}` : ''}`));
      }, 100);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${child.what} did not answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      onExit(child.process.exitCode, child.process.signalCode);
      return;
    }
    child.lines.on('line', onLine);
    child.process.once('exit', onExit);
  });
}

const STOP_GRACE_MS = 3_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM, then SIGKILL if the child has not exited 3 s later. Processes it had forked are
 * expected to go with it; any still there after the same grace are killed too, so a stray
 * worker cannot eat the CPU of the next measurement.
 */
export async function stop(child: Child): Promise<void> {
  const running = (): boolean => child.process.exitCode === null && child.process.signalCode === null;
  if (!running()) return;
  const descendants = processTree(child.pid).slice(1);
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
  const deadline = performance.now() + STOP_GRACE_MS;
  while (descendants.some(alive) && performance.now() < deadline) await sleep(50);
  for (const pid of descendants.filter(alive)) process.kill(pid, 'SIGKILL');
}

/** `promise`, unless `child` exits first: then a rejection naming the child and its error line. */
export function whileRunning<T>(child: Child, promise: Promise<T>): Promise<T> {
  let onExit: (() => void) | undefined;
  const died = new Promise<never>((_resolve, reject) => {
    onExit = () => {
      const error = child.lastError();
      reject(new Error(`${child.what} exited during the run${error ? `: ${error}` : ''}`));
    };
    child.process.once('exit', onExit);
  });
  return Promise.race([promise, died]).finally(() => child.process.off('exit', onExit!));
}
