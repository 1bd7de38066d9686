/**
 * Snapshots of a guest instance, with no help from the guest: between two events its whole
 * state is its linear memory and its mutable globals (the call stack is empty, tables and
 * segments are as instantiation left them in a module that cannot change them). So an
 * image is the memory's size and bytes plus the value of every mutable global, and it is
 * restored into a fresh instance of the same module: memory grown to the saved size and
 * written, globals set.
 *
 * The JS API reaches only exports, and compilers keep state in globals they do not export
 * (LLVM's `__stack_pointer`, AssemblyScript's allocator), so the module is rewritten at load
 * to export every mutable global it defines ({@link globalExports}, rewrite.ts). What cannot be
 * captured that way is refused up front ({@link snapshotPlan}): a module that changes its
 * tables or drops segments at run time, imports its memory or a mutable global, or keeps a
 * `v128` or reference in a mutable global.
 *
 * ## Image format, version 1 (little-endian; uncompressed — the store compresses)
 *
 * | offset | bytes | what |
 * |---|---|---|
 * | 0 | 4 | `SRWI` (stateroom WebAssembly image) |
 * | 4 | 1 | format version: 1 |
 * | 5 | 3 | zero |
 * | 8 | 4 | memory size, in 64 KiB pages |
 * | 12 | 4 | global count, n |
 * | 16 | 8 | memory bytes stored, m: the memory's bytes past m are zero |
 * | 24 | 16 × n | per global: its index (u32), its type (u8: 0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64), 3 zero bytes, its bits (8 bytes; i32 and f32 in the low 4) |
 * | 24 + 16n | m | the first m bytes of memory |
 *
 * Floats are saved as their bits, NaN payloads included: a JS number may not keep a NaN's
 * payload, so their bits are read and written through a two-function helper module that
 * imports the global and reinterprets it as an integer.
 * @module
 */
import { BinaryFormatError, PAGE_BYTES, VALTYPE_CODES, encodeName, encodeULeb, readModule, type ModuleInfo } from './binary.js';
import { PREFIX_MISC, UnknownInstruction, forEachInstruction, functionBodies, functionNames } from './instructions.js';

/** The types of global a snapshot can save. */
export type SavedGlobalType = 'i32' | 'i64' | 'f32' | 'f64';

/** A mutable global the snapshot saves, and the export it is reached by. */
export interface SavedGlobal {
  /** Its index in the module's global index space. */
  readonly index: number;
  readonly type: SavedGlobalType;
  /** The export the rewrite added for it (`__stateroom_global_<index>`). */
  readonly exportName: string;
}

/** What a snapshot of an instance of one (rewritten) module reads and writes. */
export interface SnapshotLayout {
  /** The export name of the memory saved. */
  readonly memoryExport: string;
  /** Every mutable global the module defines, in index order. */
  readonly globals: readonly SavedGlobal[];
}

/** Whether a module's instances can be captured: how, or why not (one line). */
export type SnapshotPlan = { readonly layout: SnapshotLayout; readonly refusal?: undefined } | { readonly layout?: undefined; readonly refusal: string };

/** The prefix of the exports the rewrite adds for mutable globals. */
export const GLOBAL_EXPORT_PREFIX = '__stateroom_global_';
/** The first bytes of every image: "SRWI". */
export const IMAGE_MAGIC = Uint8Array.of(0x53, 0x52, 0x57, 0x49);
/** The image format this host writes (and the only one it reads). */
export const IMAGE_VERSION = 1;
const HEADER_BYTES = 24;
const GLOBAL_BYTES = 16;
const SAVED_TYPES: ReadonlySet<string> = new Set<SavedGlobalType>(['i32', 'i64', 'f32', 'f64']);

/** What changes a table or drops a segment at run time: the fresh instance a restore starts from would differ. */
const REFUSED: ReadonlyArray<{ op: number; sub: number; name: string; why: string }> = [
  { op: 0x26, sub: -1, name: 'table.set', why: 'changes a table at run time, and a table holds references, which cannot be saved' },
  { op: PREFIX_MISC, sub: 0x0f, name: 'table.grow', why: 'changes a table at run time, and a table holds references, which cannot be saved' },
  { op: PREFIX_MISC, sub: 0x11, name: 'table.fill', why: 'changes a table at run time, and a table holds references, which cannot be saved' },
  { op: PREFIX_MISC, sub: 0x0e, name: 'table.copy', why: 'changes a table at run time, and a table holds references, which cannot be saved' },
  { op: PREFIX_MISC, sub: 0x0c, name: 'table.init', why: 'changes a table at run time, and a table holds references, which cannot be saved' },
  { op: PREFIX_MISC, sub: 0x0d, name: 'elem.drop', why: 'drops an element segment at run time, which a restored (fresh) instance would still have' },
  { op: PREFIX_MISC, sub: 0x09, name: 'data.drop', why: 'drops a data segment at run time, which a restored (fresh) instance would still have' },
];

/**
 * The exports the rewrite adds: one per mutable global the module defines, named
 * `__stateroom_global_<index>` (with `_` appended while the name is taken). Only saveable
 * types; {@link snapshotPlan} refuses a module with any other.
 */
export function globalExports(info: ModuleInfo): SavedGlobal[] {
  const taken = new Set(info.exports.map((e) => e.name));
  const imported = info.imports.filter((i) => i.desc.kind === 'global').length;
  const saved: SavedGlobal[] = [];
  for (let index = imported; index < info.globals.length; index++) {
    const type = info.globals[index]!;
    if (!info.globalsMutable[index] || !SAVED_TYPES.has(type)) continue;
    let exportName = `${GLOBAL_EXPORT_PREFIX}${index}`;
    while (taken.has(exportName)) exportName += '_';
    taken.add(exportName);
    saved.push({ index, type: type as SavedGlobalType, exportName });
  }
  return saved;
}

/**
 * Whether instances of the module in `bytes` (as loaded, before any rewrite) can be saved
 * and restored faithfully, and if so what a snapshot reads; if not, why, in one line naming
 * the instruction (and its function) or the global.
 */
export function snapshotPlan(bytes: Uint8Array): SnapshotPlan {
  let info: ModuleInfo;
  try {
    info = readModule(bytes);
  } catch (thrown) {
    if (!(thrown instanceof BinaryFormatError)) throw thrown;
    return { refusal: `its bytes cannot be read: ${thrown.message}` };
  }
  const refusal = declarationRefusal(info) ?? codeRefusal(bytes, info);
  if (refusal !== undefined) return { refusal };
  const memory = info.exports.find((e) => e.kind === 'memory' && e.index === 0);
  if (memory === undefined) return { refusal: 'it does not export its memory' };
  return { layout: { memoryExport: memory.name, globals: globalExports(info) } };
}

/** Memories and globals a snapshot cannot reach. */
function declarationRefusal(info: ModuleInfo): string | undefined {
  for (const { module, name, desc } of info.imports) {
    if (desc.kind === 'memory') return `it imports its memory (${module}.${name}), which lives outside the module`;
    if (desc.kind === 'global' && desc.mutable) return `it imports the mutable global ${module}.${name}, whose value lives outside the module`;
  }
  if (info.memories.length !== 1) return `it defines ${info.memories.length} memories; a snapshot saves exactly one`;
  for (let index = 0; index < info.globals.length; index++) {
    const type = info.globals[index]!;
    if (!info.globalsMutable[index] || SAVED_TYPES.has(type)) continue;
    if (type === 'v128') return `global ${index} is a mutable v128, which the JS API can neither read nor write`;
    return `global ${index} is a mutable ${type}: a reference has no value a snapshot could save`;
  }
  return undefined;
}

/** The first instruction that changes a table or drops a segment, or one the decoder does not know. */
function codeRefusal(bytes: Uint8Array, info: ModuleInfo): string | undefined {
  let refusal: string | undefined;
  let names: Map<number, string> | undefined;
  const fn = (index: number): string => {
    names ??= functionNames(bytes, info);
    const name = names.get(index);
    return name === undefined ? `function ${index}` : `function ${index} (${name})`;
  };
  try {
    for (const body of functionBodies(bytes, info)) {
      try {
        forEachInstruction(bytes, body, ({ op, sub }) => {
          if (op !== 0x26 && op !== PREFIX_MISC) return true; // the common case, cheaply
          const refused = REFUSED.find((r) => r.op === op && r.sub === sub);
          if (refused === undefined) return true;
          refusal = `${fn(body.index)} uses ${refused.name}, which ${refused.why}`;
          return false;
        });
      } catch (thrown) {
        if (thrown instanceof UnknownInstruction) {
          const where = `${thrown.opcode} at byte 0x${thrown.at.toString(16)}`;
          return thrown.opcode.startsWith('0xfb')
            ? `${fn(body.index)} uses garbage-collection instructions (${where}), whose objects live outside linear memory`
            : `${fn(body.index)} has an instruction this host does not know (${where}), so its code cannot be checked`;
        }
        if (thrown instanceof BinaryFormatError) return `${fn(body.index)} cannot be decoded: ${thrown.message}`;
        throw thrown;
      }
      if (refusal !== undefined) return refusal;
    }
  } catch (thrown) {
    if (!(thrown instanceof BinaryFormatError)) throw thrown;
    return `its code section cannot be decoded: ${thrown.message}`;
  }
  return undefined;
}

// ---- capture and restore -------------------------------------------------------------

/** What an image is taken from and written to: an instance's exports. */
export type InstanceExports = Readonly<Record<string, WebAssembly.ExportValue>>;

/** An image that cannot be restored here; the message says why. */
export class ImageRefused extends Error {
  override readonly name = 'ImageRefused';
}

/**
 * The instance's state now, as an image (see the format above), after `headroom` free bytes
 * (for a caller that frames the image without copying it again). Call between calls only.
 */
export function captureImage(exports: InstanceExports, layout: SnapshotLayout, headroom = 0): Uint8Array {
  const memory = memoryOf(exports, layout);
  const heap = new Uint8Array(memory.buffer);
  const stored = usedLength(heap);
  const dataStart = headroom + HEADER_BYTES + GLOBAL_BYTES * layout.globals.length;
  const out = new Uint8Array(dataStart + stored);
  const view = new DataView(out.buffer, headroom);
  out.set(IMAGE_MAGIC, headroom);
  view.setUint8(4, IMAGE_VERSION);
  view.setUint32(8, heap.byteLength / PAGE_BYTES, true);
  view.setUint32(12, layout.globals.length, true);
  view.setBigUint64(16, BigInt(stored), true);
  let at = HEADER_BYTES;
  for (const global of layout.globals) {
    view.setUint32(at, global.index, true);
    view.setUint8(at + 4, VALTYPE_CODES[global.type]!);
    const value = globalOf(exports, global);
    if (global.type === 'i32') view.setInt32(at + 8, value.value as number, true);
    else if (global.type === 'i64') view.setBigInt64(at + 8, value.value as bigint, true);
    else if (global.type === 'f32') view.setInt32(at + 8, floatBits(value, 'f32').get() as number, true);
    else view.setBigInt64(at + 8, floatBits(value, 'f64').get() as bigint, true);
    at += GLOBAL_BYTES;
  }
  out.set(heap.subarray(0, stored), dataStart);
  return out;
}

/** The size of an image's memory, in bytes, or `undefined` if it is not an image of this format. */
export function imageMemoryBytes(image: Uint8Array): number | undefined {
  if (image.byteLength < HEADER_BYTES || IMAGE_MAGIC.some((b, i) => image[i] !== b) || image[4] !== IMAGE_VERSION) return undefined;
  return new DataView(image.buffer, image.byteOffset, image.byteLength).getUint32(8, true) * PAGE_BYTES;
}

/**
 * Writes `image` into a fresh instance: memory grown to the saved size, its bytes written
 * (what lies past the stored bytes zeroed), the globals set.
 * @param memoryLimitBytes - The instance's memory limit: an image larger than it is refused.
 * @throws {@link ImageRefused} when the image is not one of this format and layout, or
 *   larger than the limit. The instance may be half-written then: discard it.
 */
export function restoreImage(exports: InstanceExports, layout: SnapshotLayout, image: Uint8Array, memoryLimitBytes: number): void {
  const memoryBytes = imageMemoryBytes(image);
  if (memoryBytes === undefined) {
    throw new ImageRefused(`not a stateroom WebAssembly image of format version ${IMAGE_VERSION} (it starts ${hexStart(image)})`);
  }
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const count = view.getUint32(12, true);
  const stored = view.getBigUint64(16, true);
  const dataStart = HEADER_BYTES + GLOBAL_BYTES * count;
  if (count !== layout.globals.length) {
    throw new ImageRefused(`the image holds ${count} mutable globals, the module has ${layout.globals.length}: it is an image of another module`);
  }
  if (stored > BigInt(memoryBytes) || BigInt(image.byteLength) !== BigInt(dataStart) + stored) {
    throw new ImageRefused(`the image is ${image.byteLength} bytes, not the ${BigInt(dataStart) + stored} its header gives: it is truncated or corrupt`);
  }
  let at = HEADER_BYTES;
  for (const global of layout.globals) {
    if (view.getUint32(at, true) !== global.index || view.getUint8(at + 4) !== VALTYPE_CODES[global.type]) {
      throw new ImageRefused(`the image's global ${view.getUint32(at, true)} does not match the module's global ${global.index} (${global.type}): it is an image of another module`);
    }
    at += GLOBAL_BYTES;
  }
  if (memoryBytes > memoryLimitBytes) {
    throw new ImageRefused(`the image holds ${mib(memoryBytes)} of guest memory, over the memory limit of ${mib(memoryLimitBytes)} (--wasm-memory-limit)`);
  }
  const memory = memoryOf(exports, layout);
  const fresh = memory.buffer.byteLength;
  if (fresh > memoryBytes) {
    throw new ImageRefused(`the image holds ${mib(memoryBytes)} of memory, less than a fresh instance starts with (${mib(fresh)}): it is an image of another module`);
  }
  if (memoryBytes > fresh) {
    try {
      memory.grow((memoryBytes - fresh) / PAGE_BYTES);
    } catch (thrown) {
      throw new ImageRefused(`the guest's memory cannot grow to the image's ${mib(memoryBytes)}: ${String(thrown)}`);
    }
  }
  const heap = new Uint8Array(memory.buffer);
  heap.set(image.subarray(dataStart), 0);
  // Past what was stored the saved memory was zero; the fresh one holds its data segments there.
  if (Number(stored) < fresh) heap.fill(0, Number(stored), fresh);
  at = HEADER_BYTES;
  for (const global of layout.globals) {
    const target = globalOf(exports, global);
    if (global.type === 'i32') setValue(target, view.getInt32(at + 8, true));
    else if (global.type === 'i64') setValue(target, view.getBigInt64(at + 8, true));
    else if (global.type === 'f32') floatBits(target, 'f32').set(view.getInt32(at + 8, true));
    else floatBits(target, 'f64').set(view.getBigInt64(at + 8, true));
    at += GLOBAL_BYTES;
  }
}

function memoryOf(exports: InstanceExports, layout: SnapshotLayout): WebAssembly.Memory {
  const memory = exports[layout.memoryExport];
  if (!(memory instanceof WebAssembly.Memory)) throw new ImageRefused(`the instance has no memory export ${layout.memoryExport}: it was not rewritten for snapshots`);
  return memory;
}

function globalOf(exports: InstanceExports, global: SavedGlobal): WebAssembly.Global {
  const value = exports[global.exportName];
  if (!(value instanceof WebAssembly.Global)) throw new ImageRefused(`the instance has no global export ${global.exportName}: it was not rewritten for snapshots`);
  return value;
}

/** `Global.value` is writable on a mutable global; the declarations here only read it. */
function setValue(global: WebAssembly.Global, value: number | bigint): void {
  (global as { value: number | bigint }).value = value;
}

/** Bytes up to the last non-zero one: the rest of memory need not be copied or stored. */
function usedLength(heap: Uint8Array): number {
  // A memory is whole pages, so it is whole 32-bit words.
  const words = new Uint32Array(heap.buffer, heap.byteOffset, heap.byteLength >>> 2);
  let word = words.length;
  while (word >= 4 && (words[word - 1]! | words[word - 2]! | words[word - 3]! | words[word - 4]!) === 0) word -= 4;
  while (word > 0 && words[word - 1] === 0) word -= 1;
  let end = word * 4;
  while (end > 0 && heap[end - 1] === 0) end -= 1;
  return end;
}

// ---- float globals, bit for bit ------------------------------------------------------

interface BitsAccessor {
  /** The global's bits: an i32 (as a number) for f32, an i64 (as a bigint) for f64. */
  get(): number | bigint;
  set(bits: number | bigint): void;
}

const accessors = new WeakMap<WebAssembly.Global, BitsAccessor>();
const helpers: Partial<Record<'f32' | 'f64', WebAssembly.Module>> = {};

/** A helper instance that imports `global` and reads and writes its bits (cached per global). */
function floatBits(global: WebAssembly.Global, type: 'f32' | 'f64'): BitsAccessor {
  let accessor = accessors.get(global);
  if (accessor === undefined) {
    const module = (helpers[type] ??= new WebAssembly.Module(helperBytes(type)));
    accessor = new WebAssembly.Instance(module, { g: { v: global } }).exports as unknown as BitsAccessor;
    accessors.set(global, accessor);
  }
  return accessor;
}

/**
 * `(module (import "g" "v" (global (mut T))) (func (export "get") (result I) global.get 0
 * I.reinterpret_T) (func (export "set") (param I) local.get 0 T.reinterpret_I global.set 0))`
 * with I the integer of T's width, written out in binary (wabt is not a runtime dependency).
 */
function helperBytes(type: 'f32' | 'f64'): Uint8Array {
  const [float, int, toInt, toFloat] = type === 'f32' ? [0x7d, 0x7f, 0xbc, 0xbe] : [0x7c, 0x7e, 0xbd, 0xbf];
  const section = (id: number, content: number[]): number[] => [id, ...encodeULeb(content.length), ...content];
  const name = (text: string): number[] => [...encodeName(text)];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [0x02, 0x60, 0x00, 0x01, int, 0x60, 0x01, int, 0x00]),
    ...section(2, [0x01, ...name('g'), ...name('v'), 0x03, float, 0x01]),
    ...section(3, [0x02, 0x00, 0x01]),
    ...section(7, [0x02, ...name('get'), 0x00, 0x00, ...name('set'), 0x00, 0x01]),
    ...section(10, [0x02, 0x05, 0x00, 0x23, 0x00, toInt, 0x0b, 0x07, 0x00, 0x20, 0x00, toFloat, 0x24, 0x00, 0x0b]),
  ]);
}

function hexStart(image: Uint8Array): string {
  return image.byteLength === 0 ? '(empty)' : Buffer.from(image.subarray(0, 8)).toString('hex');
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes % 2 ** 20 === 0 ? 0 : 1)} MiB`;
}
