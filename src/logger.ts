/**
 * Logging: one line per room created/disposed and per error, as JSON (pino). Anything with
 * pino's `(fields, message)` methods can be passed in instead.
 * @module
 */
import { pino } from 'pino';

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
 * A pino logger writing one JSON line per event to `destination` (stdout by default).
 * @param level - The quietest level that is still written.
 */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { name: 'stateroom' } };
  return destination ? pino(options, destination) : pino(options);
}
