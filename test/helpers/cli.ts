// Runs the built `stateroom` command as a child process, the way a user does.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { within } from './deadline.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'dist/cli/main.js');

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `stateroom <args>` to completion (`env`: the child's whole environment). */
export async function run(args: string[], options: { cwd?: string; ms?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, ...(options.env === undefined ? {} : { env: options.env }) });
  return finish(child, `stateroom ${args.join(' ')}`, options.ms);
}

/** Collects a child's output until it exits. */
export async function finish(child: ChildProcess, what: string, ms = 15_000): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const [code] = (await within(once(child, 'exit'), `${what} to exit`, ms)) as [number | null];
    return { code, stdout, stderr };
  } finally {
    child.kill('SIGKILL');
  }
}

export interface Serving {
  child: ChildProcess;
  port: number;
  /** Everything the server printed so far. */
  output(): string;
  /** Resolves once the server has printed something matching `pattern`. */
  printed(pattern: RegExp, what: string, ms?: number): Promise<void>;
  ws(path?: string): string;
}

/**
 * Starts a long-running command (`stateroom serve …` by default) and resolves once its
 * "listening" log line names the port. The child is killed when the test ends.
 */
export async function startServing(
  args: string[],
  onEnd: (fn: () => void) => void,
  { command = [process.execPath, BIN], cwd = ROOT, env }: { command?: string[]; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Serving> {
  const [file = '', ...rest] = command;
  // npm and npx run node under a shell: give them their own process group to kill.
  const child = spawn(file, [...rest, ...args], { cwd, detached: file !== process.execPath, ...(env === undefined ? {} : { env }) });
  onEnd(() => {
    if (child.exitCode === null) kill(child);
  });
  let text = '';
  const waiters = new Set<() => void>();
  const grew = (d: Buffer): void => {
    text += d.toString();
    for (const wake of waiters) wake();
  };
  child.stderr?.on('data', grew);
  child.stdout?.on('data', grew);
  const printed = (pattern: RegExp, what: string, ms = 10_000): Promise<void> => {
    let wake = (): void => {};
    const seen = new Promise<void>((resolve) => {
      wake = () => {
        if (pattern.test(text)) resolve();
      };
      waiters.add(wake);
      wake();
    });
    return within(seen, what, ms).finally(() => waiters.delete(wake));
  };
  const port = await within(
    new Promise<number>((resolve, reject) => {
      child.stdout?.on('data', () => {
        const found = /"port":(\d+)/.exec(text);
        if (found) resolve(Number(found[1]));
      });
      child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${text}`)));
    }),
    `${args.join(' ')} to listen`,
    15_000,
  );
  return { child, port, output: () => text, printed, ws: (p = '/ws') => `ws://127.0.0.1:${port}${p}` };
}

/** Kills a child and, when it leads a process group (npm start), the whole group. */
function kill(child: ChildProcess): void {
  try {
    if (child.pid !== undefined && child.spawnargs[0] !== process.execPath) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    // already gone
  }
}
