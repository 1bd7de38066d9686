/**
 * Reading values out of a parsed `stateroom.toml`: the pieces `config.ts` (the service folder's
 * keys) and `cluster-table.ts` (`[cluster]`) share, so both say what is wrong the same way.
 * @module
 */
import { ErrorCode, StateroomError } from '../errors.js';

/** `SR_ERR_CONFIG_INVALID`: `<file>: <message>`. */
export function invalid(file: string, message: string, cause?: unknown): StateroomError {
  return new StateroomError(ErrorCode.CONFIG_INVALID, `${file}: ${message}`, { file }, cause === undefined ? undefined : { cause });
}

/** `{ [key]: value }`, or nothing when value is undefined (optional fields are absent, never undefined). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The table `[name]` (`{}` when absent). @throws `SR_ERR_CONFIG_INVALID` when it is not a table. */
export function subTable(file: string, name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) throw invalid(file, `[${name}] must be a table`);
  return value as Record<string, unknown>;
}
