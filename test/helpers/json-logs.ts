// Real pino JSON lines for tests: a stream to give createLogger() that keeps every line (raw
// and parsed) and can be waited on, and a check for keys written twice in one line.
import { Writable } from 'node:stream';

export type LogEntry = Record<string, unknown>;

/** JSON log lines written by a real pino logger, to wait on. */
export class LogLines extends Writable {
  readonly lines: Array<{ raw: string; entry: LogEntry }> = [];
  private waiters: Array<() => void> = [];
  private partial = '';

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const raw of parts) if (raw !== '') this.lines.push({ raw, entry: JSON.parse(raw) as LogEntry });
    for (const wake of this.waiters.splice(0)) wake();
    done();
  }

  /** Every line parsed, oldest first. */
  entries(): LogEntry[] {
    return this.lines.map((line) => line.entry);
  }

  /** Waits for a line whose parsed entry matches. */
  waitFor(match: (entry: LogEntry) => boolean, what: string, ms = 5_000): Promise<LogEntry> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for log: ${what}`)), ms);
      const check = (): void => {
        const found = this.lines.find((line) => match(line.entry));
        if (found === undefined) this.waiters.push(check);
        else {
          clearTimeout(timer);
          resolve(found.entry);
        }
      };
      check();
    });
  }
}

/** The keys that occur twice in one object of a JSON text (JSON.parse keeps the last silently). */
export function duplicateKeys(json: string): string[] {
  const found: string[] = [];
  const open: Array<Set<string> | undefined> = [];
  let keyNext = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      const keys = open.at(-1);
      if (keyNext && keys !== undefined) {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (keys.has(key)) found.push(key);
        keys.add(key);
      }
      keyNext = false;
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      keyNext = true;
    } else if (c === '[') {
      open.push(undefined);
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      keyNext = open.at(-1) !== undefined;
    }
  }
  return found;
}
