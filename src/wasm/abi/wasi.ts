/**
 * The slice of WASI preview1 that Stateroom guests import, written by hand rather than with
 * `node:wasi` so that nothing else is reachable: no filesystem, no sockets, no host
 * environment, no arguments. Rust guests built for `wasm32-wasi` call `environ_sizes_get`
 * on every export call (the linker's command-export wrapper), so these must be cheap.
 * @module
 */
import { getRandomValues } from 'node:crypto';
import { clipped } from '../../clipped.js';

/** The WASI functions a guest may import; any other import refuses the module. */
export const WASI_FUNCTIONS = [
  'fd_write',
  'proc_exit',
  'clock_time_get',
  'clock_res_get',
  'random_get',
  'environ_get',
  'environ_sizes_get',
  'args_get',
  'args_sizes_get',
  'sched_yield',
] as const;

export const WASI_MODULE = 'wasi_snapshot_preview1';

const SUCCESS = 0;
const EBADF = 8;
const EINVAL = 28;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_PROCESS_CPUTIME = 2;
const CLOCK_THREAD_CPUTIME = 3;
const STDOUT = 1;
const STDERR = 2;
/** getRandomValues fills at most this many bytes per call. */
const RANDOM_CHUNK = 65_536;

/** The guest called `proc_exit`: its instance is finished. */
export class ProcExit extends Error {
  override readonly name = 'ProcExit';
  constructor(readonly exitCode: number) {
    super(`the guest called proc_exit(${exitCode})`);
  }
}

/** Where a guest's output goes: one call per complete line (or flushed remainder). */
export type GuestOutput = (stream: 'stdout' | 'stderr', line: string) => void;

/**
 * WASI imports for one instance. `memory` is read on every call because guest memory can
 * grow (and its buffer be replaced) during any call.
 */
export function wasiImports(memory: () => WebAssembly.Memory, output: GuestOutput) {
  const view = (): DataView => new DataView(memory().buffer);
  const lines = { stdout: new LineBuffer((l) => output('stdout', l)), stderr: new LineBuffer((l) => output('stderr', l)) };
  const zeroPair = (a: number, b: number): number => {
    const v = view();
    v.setUint32(a >>> 0, 0, true);
    v.setUint32(b >>> 0, 0, true);
    return SUCCESS;
  };
  return {
    imports: {
      fd_write(fd: number, iovs: number, iovsLength: number, written: number): number {
        if (fd !== STDOUT && fd !== STDERR) return EBADF;
        const v = view();
        const bytes = new Uint8Array(memory().buffer);
        let total = 0;
        for (let i = 0; i < iovsLength >>> 0; i++) {
          const base = v.getUint32((iovs >>> 0) + i * 8, true);
          const length = v.getUint32((iovs >>> 0) + i * 8 + 4, true);
          lines[fd === STDOUT ? 'stdout' : 'stderr'].write(bytes.subarray(base, base + length));
          total += length;
        }
        v.setUint32(written >>> 0, total, true);
        return SUCCESS;
      },
      proc_exit(code: number): never {
        throw new ProcExit(code >>> 0);
      },
      clock_time_get(clock: number, _precision: bigint, time: number): number {
        const now = clockNow(clock);
        if (now === undefined) return EINVAL;
        view().setBigUint64(time >>> 0, now, true);
        return SUCCESS;
      },
      clock_res_get(clock: number, resolution: number): number {
        if (clockNow(clock) === undefined) return EINVAL;
        view().setBigUint64(resolution >>> 0, 1_000n, true);
        return SUCCESS;
      },
      random_get(buffer: number, length: number): number {
        const target = new Uint8Array(memory().buffer, buffer >>> 0, length >>> 0);
        for (let at = 0; at < target.length; at += RANDOM_CHUNK) getRandomValues(target.subarray(at, at + RANDOM_CHUNK));
        return SUCCESS;
      },
      // An empty environment and no arguments: a guest sees nothing of the host.
      environ_get: (): number => SUCCESS,
      environ_sizes_get: zeroPair,
      args_get: (): number => SUCCESS,
      args_sizes_get: zeroPair,
      sched_yield: (): number => SUCCESS,
    },
    /** Emits output still waiting for its newline (e.g. a panic message without one). */
    flush(): void {
      lines.stdout.flush();
      lines.stderr.flush();
    },
  };
}

function clockNow(clock: number): bigint | undefined {
  switch (clock) {
    case CLOCK_REALTIME:
      return BigInt(Date.now()) * 1_000_000n;
    case CLOCK_MONOTONIC:
    case CLOCK_PROCESS_CPUTIME:
    case CLOCK_THREAD_CPUTIME:
      return process.hrtime.bigint();
    default:
      return undefined;
  }
}

/** The longest line of a guest's output that reaches the log, in characters. */
const MAX_LINE = 16_384;

/** Turns a byte stream into lines; a guest may print a line in several `fd_write`s. */
class LineBuffer {
  private pending = '';
  private readonly decoder = new TextDecoder();

  constructor(private readonly emit: (line: string) => void) {}

  write(bytes: Uint8Array): void {
    this.pending += this.decoder.decode(bytes, { stream: true });
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      // One `fd_write` may hold all of guest memory: a line is cut at MAX_LINE.
      this.emit(clipped(this.pending.slice(0, newline), MAX_LINE));
      this.pending = this.pending.slice(newline + 1);
    }
    // A guest printing without newlines must not grow this without bound.
    if (this.pending.length > MAX_LINE) this.flush();
  }

  flush(): void {
    if (this.pending !== '') this.emit(clipped(this.pending, MAX_LINE));
    this.pending = '';
  }
}

