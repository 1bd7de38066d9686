// Asking a server's processes for a full garbage collection from outside, for the idle
// scenario's RSS readings (see gc-preload.mjs, which every server is started with).
import { readFileSync } from 'node:fs';
import { processTree } from './proc.js';

const PRELOAD = new URL('./gc-preload.mjs', import.meta.url).href;

/** The environment a server is started with: its NODE_OPTIONS plus --expose-gc and the hook. */
export function gcEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, NODE_OPTIONS: [env.NODE_OPTIONS, '--expose-gc', `--import=${PRELOAD}`].filter(Boolean).join(' ') };
}

const SIGUSR2 = 12;

/**
 * Whether `pid` handles SIGUSR2 (SigCgt in /proc/<pid>/status): only those processes are sent
 * it, since SIGUSR2 kills a process that has no handler (a child that is not node, say).
 */
function catchesSigusr2(pid: number): boolean {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & (1n << BigInt(SIGUSR2 - 1))) !== 0n;
  } catch {
    return false;
  }
}

/** Signals every process of `pid`'s tree that has the hook; returns how many. The GC runs on their next turn. */
export function collectGarbage(pid: number): number {
  const hooked = processTree(pid).filter(catchesSigusr2);
  return hooked.filter((each) => {
    try {
      process.kill(each, 'SIGUSR2');
      return true;
    } catch {
      return false; // exited meanwhile
    }
  }).length;
}
