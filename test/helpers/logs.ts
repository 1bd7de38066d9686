// A Logger that records entries in memory, so tests can assert what was logged.
import type { Logger } from '../../src/logger.js';

export interface Entry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

export class MemoryLogger implements Logger {
  readonly entries: Entry[] = [];
  private waiters: Array<() => void> = [];

  debug = (fields: object, message: string): void => this.add('debug', fields, message);
  info = (fields: object, message: string): void => this.add('info', fields, message);
  warn = (fields: object, message: string): void => this.add('warn', fields, message);
  error = (fields: object, message: string): void => this.add('error', fields, message);
  child(): Logger {
    return this;
  }

  /** Waits for an entry matching `match`, with a deadline. */
  waitFor(match: (e: Entry) => boolean, what: string, ms = 3_000): Promise<Entry> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for log: ${what}`)), ms);
      const check = (): void => {
        const found = this.entries.find(match);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        } else this.waiters.push(check);
      };
      check();
    });
  }

  private add(level: Entry['level'], fields: object, message: string): void {
    this.entries.push({ level, message, fields: fields as Record<string, unknown> });
    for (const wake of this.waiters.splice(0)) wake();
  }
}
