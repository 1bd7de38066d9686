/**
 * Logging: one line per room created/disposed and per error — JSON lines (pino) for log
 * collectors, or human-readable lines when stdout is a terminal. Anything with pino's
 * `(fields, message)` methods can be passed in instead.
 * @module
 */
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { clipped } from './clipped.js';
import type * as PinoPretty from 'pino-pretty';

/** The log levels the CLI's `--log-level` accepts, quietest last. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** A log level: `--log-level`'s values and `ServerOptions.logLevel`'s. */
export type LogLevel = (typeof LOG_LEVELS)[number];

type LogMethod = (fields: object, message: string) => void;

/** The part of a pino logger stateroom uses. */
export interface Logger {
  /** Details for finding a problem; off by default. */
  debug: LogMethod;
  /** What the server does (listening, rooms saved, a reload). */
  info: LogMethod;
  /** Expected trouble: a client refused or closed, a guest cut off. */
  warn: LogMethod;
  /** Something failed: a service threw, a save failed. */
  error: LogMethod;
  /** A logger whose lines all carry `fields` too. */
  child(fields: object): Logger;
}

/**
 * A pino logger writing one line per event to `destination`; by default to stdout, as JSON,
 * or pretty-printed when stdout is a terminal.
 * @param level - The quietest level that is still written.
 * @param format - `json` lines, or `pretty` lines for a person; default: pretty only when
 *   writing to stdout and stdout is a terminal.
 */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream, format?: 'json' | 'pretty'): Logger {
  const options = { level, base: { name: 'stateroom' } };
  const toTerminal = destination === undefined && process.stdout.isTTY;
  if (format === 'pretty' || (format === undefined && toTerminal)) return pino(options, prettyLines(destination ?? process.stdout, toTerminal));
  return destination === undefined ? pino(options) : pino(options, destination);
}

/**
 * Human-readable lines that cannot be forged: every string of every field (the message, a
 * room id, an error's stack) has its control characters escaped before it is printed, so a
 * room id holding a newline and a fake timestamp prints as one line with a visible `\n`.
 * JSON lines need none of this (JSON escapes them).
 */
function prettyLines(out: NodeJS.WritableStream, colorize: boolean): { write(line: string): void } {
  // Loaded only for a person's terminal: a server logging JSON lines never pays for it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty.default;
  const prettify = pretty.prettyFactory({ colorize, singleLine: true, ignore: 'pid,hostname,name', translateTime: 'HH:MM:ss.l' });
  return {
    write(line: string): void {
      out.write(prettify(escapeControls(JSON.parse(line))));
    },
  };
}

/** Control characters (C0, DEL, C1, and the Unicode line and paragraph separators). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** `value` with every string in it (keys too) escaped: `\n`, `\r`, `\t`, else `\u001b` and the like. */
export function escapeControls(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(CONTROLS, escapeOne);
  if (Array.isArray(value)) return value.map(escapeControls);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key.replace(CONTROLS, escapeOne), escapeControls(field)]));
  }
  return value;
}

function escapeOne(char: string): string {
  if (char === '\n') return '\\n';
  if (char === '\r') return '\\r';
  if (char === '\t') return '\\t';
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** What one repeated line looked like, and how often it came again this window. */
interface Repeat {
  readonly level: ThrottledLevel;
  readonly scope: string;
  /** What the window's summary line carries (not the first line's client, say). */
  readonly summary: object;
  readonly message: string;
  repeated: number;
}

export interface ThrottleLimits {
  /** The window, in ms: each kind of line is written once per window, then summarised. */
  readonly windowMs: number;
  /** Kinds of line written in full per scope (a room) per window; more kinds are only counted. */
  readonly perScope: number;
  /** Kinds of line remembered at once: the memory bound, whatever varies in the messages. */
  readonly maxKeys: number;
  /**
   * Lines written in full per window, all scopes together: a client that makes each of many
   * rooms fail (or print) once must not write a line per room either.
   */
  readonly perWindow: number;
}

/** The levels a throttled line may have. */
export type ThrottledLevel = 'error' | 'warn' | 'info';

const GRAVITY: Readonly<Record<ThrottledLevel, number>> = { info: 0, warn: 1, error: 2 };

function graver(a: ThrottledLevel, b: ThrottledLevel): ThrottledLevel {
  return GRAVITY[b] > GRAVITY[a] ? b : a;
}

/** The longest message a throttled line carries, and the longest kind it remembers, in characters. */
const MAX_MESSAGE_CHARS = 4_096;
const MAX_KEY_CHARS = 1_024;

/** What a summary calls the lines it counts. */
function kindOf(level: ThrottledLevel): string {
  return level === 'error' ? 'errors' : level === 'warn' ? 'warnings' : 'lines';
}

const DEFAULT_THROTTLE: ThrottleLimits = { windowMs: 10_000, perScope: 5, maxKeys: 1_000, perWindow: 100 };

/**
 * Throttles repeated error lines: a client that makes a service throw 5,000 times (bad input
 * to a `JSON.parse`, say) must not write 5,000 stack traces. The first line of each kind
 * (`key`: room, callback and message) is written in full; the rest of the window only
 * counts, and when it ends one line says `… and 4,999 more like it in room "x" in the last
 * 10 s`. Memory is bounded by `maxKeys`, and messages that vary (a parse error quoting the
 * input) by `perScope` full lines per room per window.
 */
export class LogThrottle {
  private readonly repeats = new Map<string, Repeat>();
  /** Full lines written this window, and kinds counted only, per scope. */
  private readonly scopes = new Map<string, { full: number; others: number; level: ThrottledLevel }>();
  /** Lines counted only because every slot was taken. */
  private overflow = 0;
  /** The gravest level among the lines counted in {@link overflow}: its summary line's. */
  private overflowLevel: ThrottledLevel = 'info';
  /** Lines written in full this window. */
  private written = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly limits: ThrottleLimits = DEFAULT_THROTTLE,
  ) {}

  /** Writes an error line of kind `key` in `scope` (e.g. `room "x"`), or counts it. */
  error(scope: string, key: string, fields: object, message: string): void {
    this.write('error', scope, key, fields, message);
  }

  /**
   * Writes a line of kind `key` at `level` in `scope`, or counts it (see {@link error}).
   * @param summary - The fields of the window's summary of this kind; default `fields` without
   *   the error, the client and the address. Lines of many clients must not name the first
   *   one's room or address there.
   */
  write(level: ThrottledLevel, scope: string, wholeKey: string, fields: object, wholeMessage: string, summary: object = stripError(fields)): void {
    this.timer ??= setTimeout(() => this.flush(), this.limits.windowMs).unref();
    // Both may carry what a client sent (a service that throws `'bad ' + payload`): the kinds
    // remembered for a window, and each line, stay small whatever it sent.
    const key = clipped(wholeKey, MAX_KEY_CHARS);
    const message = clipped(wholeMessage, MAX_MESSAGE_CHARS);
    const repeat = this.repeats.get(key);
    if (repeat !== undefined) {
      repeat.repeated += 1;
      return;
    }
    let counts = this.scopes.get(scope);
    if (counts === undefined && this.scopes.size < this.limits.maxKeys) this.scopes.set(scope, (counts = { full: 0, others: 0, level: 'info' }));
    if (counts === undefined || this.repeats.size >= this.limits.maxKeys || this.written >= this.limits.perWindow) {
      this.overflow += 1;
      this.overflowLevel = graver(this.overflowLevel, level);
      return;
    }
    if (counts.full >= this.limits.perScope) {
      counts.others += 1;
      counts.level = graver(counts.level, level);
      return;
    }
    counts.full += 1;
    this.written += 1;
    this.repeats.set(key, { level, scope, summary, message, repeated: 0 });
    this.log[level](fields, message);
  }

  /** Writes the window's summaries and starts a new window (also on shutdown, so none is lost). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const window = `in the last ${formatCount(Math.round(this.limits.windowMs / 1000))} s`;
    for (const { level, scope, summary, message, repeated } of this.repeats.values()) {
      if (repeated === 0) continue;
      const short = message.length > 200 ? `${message.slice(0, 200)}…` : message;
      this.log[level]({ ...summary, repeated }, `${short} … and ${formatCount(repeated)} more like it in ${scope} ${window}`);
    }
    // Summaries at the gravest level they count, and named for what they count: refused upgrades
    // (info) must not page an operator as errors.
    for (const [scope, { others, level }] of this.scopes) {
      if (others > 0) this.log[level]({ repeated: others }, `… and ${formatCount(others)} more ${kindOf(level)} of other kinds in ${scope} ${window}`);
    }
    if (this.overflow > 0) this.log[this.overflowLevel]({ repeated: this.overflow }, `… and ${formatCount(this.overflow)} more ${kindOf(this.overflowLevel)} ${window}`);
    this.repeats.clear();
    this.scopes.clear();
    this.overflow = 0;
    this.overflowLevel = 'info';
    this.written = 0;
  }
}

/**
 * The fields of a line without its error object, client and address: a summary has no stack to
 * repeat, and counts lines of many clients, from many addresses.
 */
function stripError(fields: object): object {
  const { err: _err, clientId: _client, ip: _ip, ...rest } = fields as { err?: unknown; clientId?: unknown; ip?: unknown };
  return rest;
}

/** 4999 as `4,999`. */
function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

const throttles = new WeakMap<Logger, LogThrottle>();

/** The throttle of `log`: one per logger, so every room of a server shares it. */
export function throttleOf(log: Logger): LogThrottle {
  let throttle = throttles.get(log);
  if (throttle === undefined) throttles.set(log, (throttle = new LogThrottle(log)));
  return throttle;
}

/** Writes the pending summaries of `log`'s throttle, if it has one (at shutdown). */
export function flushThrottle(log: Logger): void {
  throttles.get(log)?.flush();
}
