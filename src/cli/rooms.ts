/**
 * `stateroom rooms list|show|delete --state-dir DIR`: the saved rooms of a state directory, a
 * stopped server's or a running one's. Only `delete` writes, and nothing is cleaned up behind
 * a running server's back (the store is opened with `openExisting`).
 *
 * Room ids are any string a client put in a URL or a program chose, so they are escaped
 * before they reach a terminal: control characters and bidirectional overrides could
 * otherwise move the cursor, recolour the screen or reorder what the operator reads.
 * @module
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { clipped } from '../clipped.js';
import { DirectoryStore } from '../durability/dir-store.js';
import { decodeImage, type ImageHeader } from '../durability/image.js';
import { describeThrown } from '../errors.js';

interface Flags {
  stateDir: string;
  json?: boolean;
}

/** A long id is cut in a listing (`show` and `--json` give it whole). */
const LISTED_ID_CHARS = 120;
/** Enough of a module hash to tell modules apart at a glance. */
const SHORT_HASH_CHARS = 12;

/** Adds `rooms list|show|delete` to `program`. */
export function addRoomsCommand(program: Command): void {
  const rooms = program
    .command('rooms')
    .description('list, show or delete the rooms saved in a state directory (a stopped or running server\'s)');
  const stateDir = (): Option => new Option('--state-dir <dir>', 'the state directory the server was given').makeOptionMandatory();

  rooms
    .command('list')
    .description('one line per saved room: size on disk, saved at, kind, module, pending timer, room id; corrupt images with the reason')
    .addOption(stateDir())
    .option('--json', 'print JSON, for scripts')
    .action(async (flags: Flags) => list(await DirectoryStore.openExisting(flags.stateDir), flags.json === true));

  rooms
    .command('show')
    .description('everything about one saved room: its header, body size and compression, and whether every byte checks out')
    .argument('<roomId>', 'the room id, as clients name it in /ws/<roomId> (decoded)')
    .addOption(stateDir())
    .option('--json', 'print JSON, for scripts')
    .action(async (roomId: string, flags: Flags) => show(await DirectoryStore.openExisting(flags.stateDir), roomId, flags.json === true));

  rooms
    .command('delete')
    .description('delete a saved room: its next client starts it fresh (a running server that has it live saves it again at its next change)')
    .argument('<roomId>', 'the room id, as clients name it in /ws/<roomId> (decoded)')
    .addOption(stateDir())
    .action(async (roomId: string, flags: Flags) => remove(await DirectoryStore.openExisting(flags.stateDir), roomId));
}

async function list(store: DirectoryStore, json: boolean): Promise<void> {
  const { images, setAside } = await store.scan();
  const now = Date.now();
  const good = images.filter((i) => i.ok).sort((a, b) => compare(a.header.roomId, b.header.roomId));
  const bad = images.filter((i) => !i.ok);
  const totalBytes = images.reduce((sum, i) => sum + i.bytesOnDisk, 0);
  if (json) {
    print(
      JSON.stringify(
        {
          stateDir: store.dir,
          rooms: good.map((i) => ({ ...headerJson(i.header, now), file: i.file, bytesOnDisk: i.bytesOnDisk })),
          corrupt: bad.map(({ file, bytesOnDisk, problem }) => ({ file, bytesOnDisk, problem })),
          setAside: setAside.map((name) => path.join(store.dir, name)),
          totalBytes,
        },
        null,
        2,
      ),
    );
    return;
  }
  if (good.length > 0) {
    const rows = [['SIZE', 'SAVED AT', 'KIND', 'MODULE', 'TIMER', 'ROOM']];
    for (const { header, bytesOnDisk } of good) {
      rows.push([
        formatBytes(bytesOnDisk),
        new Date(header.savedAt).toISOString(),
        header.kind,
        header.moduleHash === '' ? '-' : header.moduleHash.slice(0, SHORT_HASH_CHARS),
        timerText(header.timerDueAt, now),
        listedId(header.roomId),
      ]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
    for (const row of rows) print(row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '));
  }
  for (const { bytesOnDisk, problem } of bad) print(`corrupt (${formatBytes(bytesOnDisk)}): ${escapeForTerminal(problem)}`);

  const parts = [`${plural(good.length, 'room')}, ${formatBytes(totalBytes)} in ${escapeForTerminal(store.dir)}`];
  if (bad.length > 0) parts.push(`${plural(bad.length, 'corrupt image')} (skipped by the server; delete the file or keep it to look into)`);
  if (setAside.length > 0) parts.push(`${plural(setAside.length, 'image')} set aside (*.bad-*, with the reason in *.why)`);
  print(parts.join('; '));
}

async function show(store: DirectoryStore, roomId: string, json: boolean): Promise<void> {
  const found = await store.inspect(roomId);
  if (found === undefined) return missing(store, roomId);
  if (!found.ok) return fail(escapeForTerminal(found.problem));
  // The header checked out on its own; decoding checks every byte and the body's size.
  let integrity = 'ok (every byte checked)';
  let intact = true;
  try {
    await decodeImage((await store.get(roomId)) ?? new Uint8Array(0), found.file);
  } catch (err) {
    integrity = `corrupt: ${describeThrown(err)}`;
    intact = false;
  }
  const { header, file, bytesOnDisk } = found;
  const now = Date.now();
  if (json) {
    print(JSON.stringify({ ...headerJson(header, now), file, bytesOnDisk, compressionRatio: ratio(header), intact, integrity }, null, 2));
  } else {
    const fields: [string, string][] = [
      ['room', escapeForTerminal(header.roomId)],
      ['file', escapeForTerminal(file)],
      ['size on disk', `${formatBytes(bytesOnDisk)} (${bytesOnDisk} bytes)`],
      ['kind', header.kind],
      ['module hash', header.moduleHash === '' ? '- (native services have none)' : escapeForTerminal(header.moduleHash)],
      ['saved at', new Date(header.savedAt).toISOString()],
      ['timer', header.timerDueAt === undefined ? 'none' : `${timerText(header.timerDueAt, now)}${header.timerDueAt <= now ? ` (was due ${new Date(header.timerDueAt).toISOString()})` : ''}`],
      ['body', `${formatBytes(header.bodyBytes)} (${header.bodyBytes} bytes), stored in ${formatBytes(header.storedBytes)}: ${ratio(header).toFixed(1)}:1`],
      ['integrity', escapeForTerminal(integrity)],
    ];
    const width = Math.max(...fields.map(([name]) => name.length));
    for (const [name, value] of fields) print(`${name.padEnd(width)}  ${value}`);
  }
  if (!intact) process.exitCode = 1;
}

async function remove(store: DirectoryStore, roomId: string): Promise<void> {
  const file = store.where(roomId);
  if (!(await store.delete(roomId))) return missing(store, roomId);
  print(`deleted room "${escapeForTerminal(roomId)}" (${file})`);
}

function headerJson(header: ImageHeader, now: number): Record<string, unknown> {
  return {
    roomId: header.roomId,
    kind: header.kind,
    moduleHash: header.moduleHash,
    savedAt: new Date(header.savedAt).toISOString(),
    timerDueAt: header.timerDueAt === undefined ? null : new Date(header.timerDueAt).toISOString(),
    timerOverdue: header.timerDueAt !== undefined && header.timerDueAt <= now,
    bodyBytes: header.bodyBytes,
    storedBytes: header.storedBytes,
  };
}

function missing(store: DirectoryStore, roomId: string): void {
  fail(`no saved room "${escapeForTerminal(roomId)}" in ${escapeForTerminal(store.dir)} (stateroom rooms list --state-dir ${escapeForTerminal(store.dir)} lists them)`);
}

function fail(message: string): void {
  process.stderr.write(`stateroom: ${message}\n`);
  process.exitCode = 1;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A pending timer: its due time, or "overdue" when it came due while the room slept or the server was down. */
function timerText(dueAt: number | undefined, now: number): string {
  if (dueAt === undefined) return '-';
  return dueAt <= now ? 'overdue' : new Date(dueAt).toISOString();
}

const ratio = (header: ImageHeader): number => (header.storedBytes === 0 ? 1 : header.bodyBytes / header.storedBytes);

function listedId(roomId: string): string {
  const escaped = escapeForTerminal(roomId);
  return clipped(escaped, LISTED_ID_CHARS);
}

/** Sorts by code unit, as `list()` does, so the order is the same everywhere and needs no locale. */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** 512 B, 8.7 KiB, 1.2 MiB, 3.0 GiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * `text` safe to print on a terminal: C0 and C1 controls, DEL, line and paragraph separators,
 * bidirectional controls and lone surrogates become `\xHH` / `\u{HHHH}` escapes, and a
 * backslash is doubled so an escape cannot be faked.
 */
export function escapeForTerminal(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (isInvisibleControl(code)) out += `\\u{${code.toString(16)}}`;
    else out += ch;
  }
  return out;
}

function isInvisibleControl(code: number): boolean {
  return (
    code === 0x061c || // Arabic letter mark
    code === 0x200e ||
    code === 0x200f || // LTR / RTL marks
    (code >= 0x2028 && code <= 0x202e) || // line/paragraph separators, bidi embeddings and overrides
    (code >= 0x2066 && code <= 0x2069) || // bidi isolates
    (code >= 0xd800 && code <= 0xdfff) // a lone surrogate (a paired one arrives as one code point)
  );
}
