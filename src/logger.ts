/**
 * Logging: one line per room created/disposed and per error — JSON lines (pino) for log
 * collectors, or human-readable lines when stdout is a terminal. Anything with pino's
 * `(fields, message)` methods can be passed in instead.
 * @module
 */
import { pino } from 'pino';
import pretty from 'pino-pretty';

/** The log levels the CLI's `--log-level` accepts, quietest last. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type LogMethod = (fields: object, message: string) => void;

/** The part of a pino logger stateroom uses. */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  child(fields: object): Logger;
}

/**
 * A pino logger writing one line per event to `destination`; by default to stdout, as JSON,
 * or pretty-printed when stdout is a terminal.
 * @param level - The quietest level that is still written.
 */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { name: 'stateroom' } };
  if (destination !== undefined) return pino(options, destination);
  if (process.stdout.isTTY) return pino(options, pretty({ colorize: true, singleLine: true, ignore: 'pid,hostname,name', translateTime: 'HH:MM:ss.l' }));
  return pino(options);
}
