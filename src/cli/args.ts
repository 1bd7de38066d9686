/**
 * Flag parsers for the CLI: each turns a flag's text into a `serve()` option value or
 * refuses it with a message commander prints beside the flag's name.
 * @module
 */
import { InvalidArgumentError } from 'commander';
import { LOG_LEVELS, type LogLevel } from '../logger.js';

/** A TCP port: a whole number from 0 to 65535. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535.');
  return port;
}

/** Seconds (fractions allowed), returned as whole milliseconds. */
export function parseSeconds(text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new InvalidArgumentError('give a number of seconds >= 0, e.g. 30 or 0.5.');
  }
  return Math.round(seconds * 1000);
}

/** A positive whole number of bytes. */
export function parseBytes(text: string): number {
  const bytes = Number(text);
  if (!/^\d+$/.test(text) || bytes < 1) throw new InvalidArgumentError('give a whole number of bytes >= 1.');
  return bytes;
}

/** One of pino's level names. */
export function parseLogLevel(text: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel;
  throw new InvalidArgumentError(`choose one of ${LOG_LEVELS.join(', ')}.`);
}

/** A whole number >= 0. */
export function parseCount(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('give a whole number >= 0 (0 for no limit).');
  return Number(text);
}

/** Mebibytes, returned as bytes. */
export function parseMebibytes(text: string): number {
  const mib = Number(text);
  if (text.trim() === '' || !Number.isFinite(mib) || mib <= 0) throw new InvalidArgumentError('give a number of MiB > 0, e.g. 64.');
  return Math.round(mib * 2 ** 20);
}

/** A number of processes or threads: a whole number from 1 to 256. */
export function parseSize(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 256) throw new InvalidArgumentError('give a whole number from 1 to 256.');
  return n;
}
