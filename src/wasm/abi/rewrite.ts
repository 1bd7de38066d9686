/**
 * The module-rewriting pass: the host changes a guest's binary at load, before it is
 * compiled for rooms. Today it sets the maximum of the guest's memory to the per-instance
 * memory limit, so `memory.grow` past the limit fails inside the call (it returns -1, as on
 * any full memory) instead of the host finding out after the call, once the memory is there.
 *
 * A pass is a list of section edits: each edit reads one section and returns its new content
 * (or nothing, to keep it). Every section no edit changes is copied byte for byte, and an edit
 * copies the bytes of its section it does not change, so a module that needs no change comes
 * out identical. Later passes (exporting mutable globals for snapshots, say) add edits here.
 * @module
 */
import { ErrorCode, StateroomError } from '../../errors.js';
import { Reader, SectionId, encodeULeb, readSections, type MemoryLimits, type Section } from './binary.js';
import { compile, type StateroomModule } from './module.js';

/** Bytes in a WebAssembly page. */
export const PAGE_BYTES = 65_536;

/** What the pass changes. */
export interface RewriteOptions {
  /** The largest memory an instance may have, in 64 KiB pages: its declared maximum is lowered to this. */
  readonly maxMemoryPages?: number;
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
  return applyEdits(bytes, edits);
}

/** Applies one edit per section id; returns `bytes` itself when nothing changed. */
export function applyEdits(bytes: Uint8Array, edits: ReadonlyMap<number, SectionEdit>): Uint8Array {
  const sections = readSections(bytes);
  const parts: Uint8Array[] = [bytes.subarray(0, sections[0]?.start ?? bytes.byteLength)];
  let changed = false;
  for (const section of sections) {
    const content = edits.get(section.id)?.(bytes, section);
    if (content === undefined) {
      parts.push(bytes.subarray(section.start, section.end));
    } else {
      changed = true;
      parts.push(Uint8Array.of(section.id, ...encodeULeb(content.byteLength)), content);
    }
  }
  return changed ? concat(parts) : bytes;
}

/**
 * The memory section with every memory's maximum at most `maxPages`: a maximum is added
 * where there was none, lowered where it was higher. Each minimum keeps its own bytes.
 */
function limitMemory(name: string, maxPages: number): SectionEdit {
  return (bytes, section) => {
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

/**
 * `module` compiled anew with its memory's maximum at `limitBytes` (rounded down to whole
 * pages); `module` itself when it needs no change, or when its bytes are not known.
 * @throws {@link StateroomError} see {@link rewriteModule}.
 */
export function withMemoryLimit(module: StateroomModule, limitBytes: number): StateroomModule {
  if (module.bytes === undefined) return module;
  const bytes = rewriteModule(module.bytes, module.name, { maxMemoryPages: Math.floor(limitBytes / PAGE_BYTES) });
  return bytes === module.bytes ? module : { name: module.name, module: compile(bytes, module.name), bytes };
}
