// A stand-in for AssemblyScript's `console`, whose functions import `env.console.*` from a
// JavaScript host. The build aliases the global `console` to this namespace
// (`--use console=…`), so `console.log` in a service prints to the server's log through
// WASI instead of making the module unloadable.

import { STDERR, STDOUT, writeText } from "./wasi";

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "clock_time_get")
declare function clock_time_get(clockId: u32, precision: u64, time: usize): u16;

/** WASI's monotonic clock. */
const MONOTONIC_CLOCK: u32 = 1;

function println(fd: u32, message: string): void {
  writeText(fd, message + "\n");
}

/** Nanoseconds on the monotonic clock; 0 if the host cannot tell. */
function monotonicNanos(): u64 {
  const out = memory.data(8, 8);
  return clock_time_get(MONOTONIC_CLOCK, 1000, out) == 0 ? load<u64>(out) : 0;
}

// Start times of console.time labels, in nanoseconds.
const timers = new Map<string, u64>();

function elapsed(label: string): string {
  const ms = <f64>(monotonicNanos() - timers.get(label)) / 1e6;
  return label + ": " + ms.toString() + "ms";
}

export namespace console {
  /** Prints `message` to standard error, prefixed "Assertion failed", unless `condition` holds. */
  export function assert<T>(condition: T, message: string = ""): void {
    if (!condition) println(STDERR, "Assertion failed: " + message);
  }

  /** Prints a line to standard output. */
  export function log(message: string = ""): void {
    println(STDOUT, message);
  }

  /** Prints a line to standard output (like `log`). */
  export function debug(message: string = ""): void {
    println(STDOUT, message);
  }

  /** Prints a line to standard output (like `log`). */
  export function info(message: string = ""): void {
    println(STDOUT, message);
  }

  /** Prints a line to standard error. */
  export function warn(message: string = ""): void {
    println(STDERR, message);
  }

  /** Prints a line to standard error. */
  export function error(message: string = ""): void {
    println(STDERR, message);
  }

  /** Starts a timer named `label`. */
  export function time(label: string = "default"): void {
    if (timers.has(label)) println(STDERR, "Warning: Label '" + label + "' already exists for console.time()");
    else timers.set(label, monotonicNanos());
  }

  /** Prints the time elapsed since `console.time(label)`. */
  export function timeLog(label: string = "default"): void {
    if (!timers.has(label)) println(STDERR, "Warning: No such label '" + label + "' for console.timeLog()");
    else println(STDOUT, elapsed(label));
  }

  /** Prints the time elapsed since `console.time(label)` and forgets the timer. */
  export function timeEnd(label: string = "default"): void {
    if (!timers.has(label)) {
      println(STDERR, "Warning: No such label '" + label + "' for console.timeEnd()");
    } else {
      println(STDOUT, elapsed(label));
      timers.delete(label);
    }
  }
}
