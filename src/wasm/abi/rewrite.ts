/**
 * The module-rewriting pass: the host changes a guest's binary at load, before it is
 * compiled for rooms. It makes two edits:
 *
 * - the maximum of the guest's memory is set to the per-instance memory limit, so
 *   `memory.grow` past the limit fails inside the call (it returns -1, as on any full memory)
 *   instead of the host finding out after the call, once the memory is there;
 * - every mutable global the module defines gets an export (`__stateroom_global_<index>`),
 *   because a snapshot reaches an instance only through its exports (snapshot.ts).
 *
 * A pass is a list of section edits: each edit reads one section and returns its new content
 * (or nothing, to keep it). Every section no edit changes is copied byte for byte — the code
 * section always is — and an edit copies the bytes of its section it does not change, so a
 * module that needs no change comes out identical.
 * @module
 */
import { createHash } from 'node:crypto';
import { ErrorCode, StateroomError } from '../../errors.js';
import type { SourceDurability } from '../../service/adapter.js';
import { PAGE_BYTES, Reader, SectionId, encodeName, encodeULeb, readModule, readSections, type MemoryLimits, type Section } from './binary.js';
import { compile, type StateroomModule } from './module.js';
import { globalExports, snapshotPlan } from './snapshot.js';

export { PAGE_BYTES } from './binary.js';

/** What the pass changes. */
export interface RewriteOptions {
  /** The largest memory an instance may have, in 64 KiB pages: its declared maximum is lowered to this. */
  readonly maxMemoryPages?: number;
  /** Export every mutable global the module defines, as snapshot.ts's `globalExports` names them. */
  readonly exportMutableGlobals?: boolean;
}

/**
 * One edit: the new content of `section` (without its id and size), or `undefined` to keep it.
 * @throws {@link StateroomError} when the module cannot be run under the options.
 */
export type SectionEdit = (bytes: Uint8Array, section: Section) => Uint8Array | undefined;

/**
 * Rewrites `bytes` as `options` ask; what it need not change stays byte-identical.
 * @param name - The file, for messages.
 * @throws {@link StateroomError} `SR_ERR_WASM_MEMORY` when a memory starts larger than the
 *   limit, `SR_ERR_WASM_INVALID` for a 64-bit memory.
 */
export function rewriteModule(bytes: Uint8Array, name: string, options: RewriteOptions): Uint8Array {
  const edits = new Map<number, SectionEdit>();
  if (options.maxMemoryPages !== undefined) edits.set(SectionId.memory, limitMemory(name, options.maxMemoryPages));
  if (options.exportMutableGlobals === true) edits.set(SectionId.export, exportGlobals(bytes));
  return applyEdits(bytes, edits);
}

/**
 * The order of the non-custom sections in a module (the tag section, 13, sits between memory
 * and global): where a section an edit adds must go.
 */
const SECTION_ORDER: readonly number[] = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

/**
 * Applies one edit per section id; returns `bytes` itself when nothing changed. A section the
 * module lacks is offered to its edit as empty (no bytes), and added where it belongs if the
 * edit returns content.
 */
export function applyEdits(bytes: Uint8Array, edits: ReadonlyMap<number, SectionEdit>): Uint8Array {
  const sections = readSections(bytes);
  const parts: Uint8Array[] = [bytes.subarray(0, sections[0]?.start ?? bytes.byteLength)];
  let changed = false;
  const emit = (id: number, content: Uint8Array): void => {
    changed = true;
    parts.push(Uint8Array.of(id, ...encodeULeb(content.byteLength)), content);
  };
  const missing = [...edits.keys()].filter((id) => !sections.some((s) => s.id === id));
  const rank = (id: number): number => SECTION_ORDER.indexOf(id);
  /** Adds the missing sections that go before a section of rank `before`. */
  const addMissing = (before: number): void => {
    while (missing.length > 0) {
      const next = missing.reduce((a, b) => (rank(a) <= rank(b) ? a : b));
      if (rank(next) >= before) return;
      missing.splice(missing.indexOf(next), 1);
      const empty: Section = { id: next, start: bytes.byteLength, contentStart: bytes.byteLength, end: bytes.byteLength };
      const content = edits.get(next)?.(bytes, empty);
      if (content !== undefined) emit(next, content);
    }
  };
  for (const section of sections) {
    if (section.id !== SectionId.custom) addMissing(rank(section.id));
    const content = edits.get(section.id)?.(bytes, section);
    if (content === undefined) parts.push(bytes.subarray(section.start, section.end));
    else emit(section.id, content);
  }
  addMissing(SECTION_ORDER.length);
  return changed ? concat(parts) : bytes;
}

/**
 * The export section with one more export per mutable global the module defines (see
 * snapshot.ts's `globalExports` for the names); the existing exports keep their bytes.
 */
function exportGlobals(module: Uint8Array): SectionEdit {
  const added = globalExports(readModule(module));
  return (bytes, section) => {
    if (added.length === 0) return undefined;
    const r = new Reader(bytes, section.contentStart, section.end);
    const count = section.end > section.contentStart ? r.u32() : 0;
    const entries = added.map((g) => [...encodeName(g.exportName), 0x03, ...encodeULeb(g.index)]);
    return concat([Uint8Array.from(encodeULeb(count + added.length)), bytes.subarray(r.at, section.end), Uint8Array.from(entries.flat())]);
  };
}

/**
 * The memory section with every memory's maximum at most `maxPages`: a maximum is added
 * where there was none, lowered where it was higher. Each minimum keeps its own bytes.
 */
function limitMemory(name: string, maxPages: number): SectionEdit {
  return (bytes, section) => {
    if (section.end === section.contentStart) return undefined; // no memory section: nothing to limit
    const r = new Reader(bytes, section.contentStart, section.end);
    const countStart = r.at;
    const memories: MemoryLimits[] = [];
    for (let count = r.u32(); count > 0; count--) memories.push(r.limits());
    if (!memories.some((m) => m.max === undefined || m.max > BigInt(maxPages) || m.min > BigInt(maxPages) || m.is64)) return undefined;
    const parts: Uint8Array[] = [bytes.subarray(countStart, memories[0]?.start ?? section.end)];
    for (const memory of memories) {
      if (memory.is64) throw new StateroomError(ErrorCode.WASM_INVALID, `${name} has a 64-bit memory, which stateroom does not run`, { file: name });
      if (memory.min > BigInt(maxPages)) {
        throw new StateroomError(
          ErrorCode.WASM_MEMORY,
          `${name} starts with ${mib(Number(memory.min))} of memory, over the memory limit of ${mib(maxPages)} (--wasm-memory-limit)`,
          { file: name },
        );
      }
      if (memory.max !== undefined && memory.max <= BigInt(maxPages)) {
        parts.push(bytes.subarray(memory.start, memory.end));
        continue;
      }
      parts.push(Uint8Array.of(memory.flags | 0x01), bytes.subarray(memory.start + 1, memory.minEnd), Uint8Array.from(encodeULeb(maxPages)));
    }
    return concat(parts);
  };
}

function mib(pages: number): string {
  return `${((pages * PAGE_BYTES) / 2 ** 20).toFixed(0)} MiB`;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** A module ready for rooms, and whether (and how) its rooms can be saved. */
export interface PreparedModule extends StateroomModule {
  /** `kind` 'wasm'; `moduleHash` is the sha256 (hex) of the bytes as loaded, before this pass. */
  readonly durability: SourceDurability;
}

/**
 * `module` as rooms run it: compiled anew with its memory's maximum at `limitBytes` (rounded
 * down to whole pages) and, unless its rooms cannot be saved faithfully, every mutable global
 * exported — with `snapshot` saying what a snapshot reads, and `durability` why not (a module
 * refused still runs as before). `module` itself is reused when nothing changes.
 * @throws {@link StateroomError} see {@link rewriteModule}.
 */
export function prepareModule(module: StateroomModule, limitBytes: number): PreparedModule {
  const { name } = module;
  if (module.bytes === undefined) {
    return { ...module, snapshot: undefined, durability: { kind: 'wasm', moduleHash: '', refusal: 'its bytes are not known (it was compiled elsewhere), so it cannot be checked' } };
  }
  const moduleHash = createHash('sha256').update(module.bytes).digest('hex');
  const plan = snapshotPlan(module.bytes);
  const bytes = rewriteModule(module.bytes, name, { maxMemoryPages: Math.floor(limitBytes / PAGE_BYTES), exportMutableGlobals: plan.layout !== undefined });
  const compiled = bytes === module.bytes ? module.module : compile(bytes, name);
  return { name, module: compiled, bytes, snapshot: plan.layout, durability: { kind: 'wasm', moduleHash, refusal: plan.refusal } };
}
