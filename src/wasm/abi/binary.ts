/**
 * A small reader of the WebAssembly binary format: the sections, and the few of them the
 * host needs to see before it trusts a module — the function types of imports and exports
 * (the JS API does not show them), the memories and their limits. Used to check a module
 * against the ABI (module.ts) and to rewrite it at load (rewrite.ts). It reads only what a
 * module declares; code bodies are decoded by instructions.ts.
 * @module
 */

/** The section ids of the core format. */
export const SectionId = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
} as const;

/** One section: where its id byte is, where its content starts and ends (exclusive). */
export interface Section {
  readonly id: number;
  /** Offset of the id byte. */
  readonly start: number;
  /** Offset of the first content byte (after the size). */
  readonly contentStart: number;
  /** Offset just past the content. */
  readonly end: number;
}

/** The limits of a memory (in 64 KiB pages) and where they lie in the bytes. */
export interface MemoryLimits {
  /** Offset of the flags byte. */
  readonly start: number;
  /** Offset just past the limits. */
  readonly end: number;
  readonly flags: number;
  readonly min: bigint;
  /** Offset just past the minimum (where a maximum, if any, starts). */
  readonly minEnd: number;
  readonly max: bigint | undefined;
  readonly shared: boolean;
  /** A 64-bit memory (memory64): its limits are u64. */
  readonly is64: boolean;
}

export interface FuncType {
  readonly params: readonly string[];
  readonly results: readonly string[];
}

export type ImportDesc =
  | { readonly kind: 'function'; readonly type: number }
  | { readonly kind: 'table' }
  | { readonly kind: 'memory'; readonly limits: MemoryLimits }
  | { readonly kind: 'global'; readonly valtype: string; readonly mutable: boolean }
  | { readonly kind: 'tag' };

export interface Import {
  readonly module: string;
  readonly name: string;
  readonly desc: ImportDesc;
}

export interface Export {
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  readonly index: number;
}

/** What a module declares, as far as the host looks. Index spaces count imports first. */
export interface ModuleInfo {
  readonly sections: readonly Section[];
  readonly types: readonly FuncType[];
  readonly imports: readonly Import[];
  /** The type index of every function, imported ones first. */
  readonly functions: readonly number[];
  /** The value type of every global, imported ones first. */
  readonly globals: readonly string[];
  /** Whether each global (same indices as {@link globals}) is mutable. */
  readonly globalsMutable: readonly boolean[];
  /** Memories defined in the memory section (imported ones are in `imports`). */
  readonly memories: readonly MemoryLimits[];
  readonly exports: readonly Export[];
}

/** The bytes are not a module this reader understands (the compiler decides validity). */
export class BinaryFormatError extends Error {
  override readonly name = 'BinaryFormatError';
}

const VALTYPES: Readonly<Record<number, string>> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
const EXTERNAL_KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;
/** The byte of each value type (the inverse of the reader's table). */
export const VALTYPE_CODES: Readonly<Record<string, number>> = Object.fromEntries(Object.entries(VALTYPES).map(([code, type]) => [type, Number(code)]));
/** Bytes in a WebAssembly page. */
export const PAGE_BYTES = 65_536;
const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const VERSION_1 = [0x01, 0x00, 0x00, 0x00];
/** The preamble: magic and version. */
export const PREAMBLE_BYTES = 8;

/** A cursor over module bytes, reading LEB128 and the format's small structures. */
export class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public at = 0,
    readonly end = bytes.byteLength,
  ) {}

  get done(): boolean {
    return this.at >= this.end;
  }

  u8(): number {
    if (this.at >= this.end) throw new BinaryFormatError(`unexpected end at byte ${this.at}`);
    return this.bytes[this.at++]!;
  }

  /** An unsigned LEB128 of at most `bits` bits, as a bigint (u64 limits need all 64). */
  uleb(bits = 32): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.u8();
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) break;
      if (shift >= BigInt(bits + 7)) throw new BinaryFormatError(`LEB128 longer than ${bits} bits at byte ${this.at}`);
    }
    return result;
  }

  u32(): number {
    return Number(this.uleb(32));
  }

  name(): string {
    const length = this.u32();
    const start = this.at;
    this.skip(length);
    return new TextDecoder().decode(this.bytes.subarray(start, start + length));
  }

  skip(count: number): void {
    if (this.at + count > this.end) throw new BinaryFormatError(`unexpected end at byte ${this.at}`);
    this.at += count;
  }

  valtype(): string {
    const code = this.u8();
    const type = VALTYPES[code];
    if (type === undefined) throw new BinaryFormatError(`unknown value type 0x${code.toString(16)} at byte ${this.at - 1}`);
    return type;
  }

  limits(): MemoryLimits {
    const start = this.at;
    const flags = this.u8();
    if (flags > 0x07) throw new BinaryFormatError(`unknown limits flags 0x${flags.toString(16)} at byte ${start}`);
    const is64 = (flags & 0x04) !== 0;
    const min = this.uleb(is64 ? 64 : 32);
    const minEnd = this.at;
    const max = (flags & 0x01) !== 0 ? this.uleb(is64 ? 64 : 32) : undefined;
    return { start, end: this.at, flags, min, minEnd, max, shared: (flags & 0x02) !== 0, is64 };
  }
}

/** Encodes `value` as an unsigned LEB128. */
export function encodeULeb(value: bigint | number): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

/** Encodes `text` as the format's name: its UTF-8 length (LEB128), then its bytes. */
export function encodeName(text: string): Uint8Array {
  const utf8 = new TextEncoder().encode(text);
  return Uint8Array.from([...encodeULeb(utf8.byteLength), ...utf8]);
}

/** Splits a module into its sections (without decoding them). */
export function readSections(bytes: Uint8Array): Section[] {
  if (bytes.byteLength < PREAMBLE_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) throw new BinaryFormatError('not a WebAssembly binary (no \\0asm magic)');
  if (VERSION_1.some((b, i) => bytes[4 + i] !== b)) throw new BinaryFormatError('not WebAssembly version 1');
  const r = new Reader(bytes, PREAMBLE_BYTES);
  const sections: Section[] = [];
  while (!r.done) {
    const start = r.at;
    const id = r.u8();
    const size = r.u32();
    const contentStart = r.at;
    r.skip(size);
    sections.push({ id, start, contentStart, end: r.at });
  }
  return sections;
}

/** Reads the declarations the host checks; see {@link ModuleInfo}. */
export function readModule(bytes: Uint8Array): ModuleInfo {
  const sections = readSections(bytes);
  const info = {
    sections,
    types: [] as FuncType[],
    imports: [] as Import[],
    functions: [] as number[],
    globals: [] as string[],
    globalsMutable: [] as boolean[],
    memories: [] as MemoryLimits[],
    exports: [] as Export[],
  };
  for (const section of sections) {
    const r = new Reader(bytes, section.contentStart, section.end);
    switch (section.id) {
      case SectionId.type:
        vector(r, () => info.types.push(funcType(r)));
        break;
      case SectionId.import:
        vector(r, () => {
          const entry = { module: r.name(), name: r.name(), desc: importDesc(r) };
          info.imports.push(entry);
          if (entry.desc.kind === 'function') info.functions.push(entry.desc.type);
          if (entry.desc.kind === 'global') {
            info.globals.push(entry.desc.valtype);
            info.globalsMutable.push(entry.desc.mutable);
          }
        });
        break;
      case SectionId.function:
        vector(r, () => info.functions.push(r.u32()));
        break;
      case SectionId.memory:
        vector(r, () => info.memories.push(r.limits()));
        break;
      case SectionId.global:
        // Only each global's type is read; its initialiser is skipped by reading up to `end`.
        vector(r, () => {
          info.globals.push(r.valtype());
          info.globalsMutable.push(r.u8() === 1);
          skipConstExpr(r);
        });
        break;
      case SectionId.export:
        vector(r, () => {
          const name = r.name();
          const kind = EXTERNAL_KINDS[r.u8()];
          if (kind === undefined) throw new BinaryFormatError(`unknown export kind at byte ${r.at - 1}`);
          info.exports.push({ name, kind, index: r.u32() });
        });
        break;
      default:
        break;
    }
  }
  return info;
}

/** `(i32, i32) -> i32`, `() -> ()`: how messages show a function type. */
export function showFuncType(type: FuncType): string {
  const results = type.results.length === 1 ? type.results[0]! : `(${type.results.join(', ')})`;
  return `(${type.params.join(', ')}) -> ${results}`;
}

function vector(r: Reader, each: () => void): void {
  for (let count = r.u32(); count > 0; count--) each();
}

function funcType(r: Reader): FuncType {
  const form = r.u8();
  if (form !== 0x60) throw new BinaryFormatError(`unsupported type form 0x${form.toString(16)} at byte ${r.at - 1}`);
  const params: string[] = [];
  const results: string[] = [];
  vector(r, () => params.push(r.valtype()));
  vector(r, () => results.push(r.valtype()));
  return { params, results };
}

function importDesc(r: Reader): ImportDesc {
  const kind = r.u8();
  switch (kind) {
    case 0:
      return { kind: 'function', type: r.u32() };
    case 1:
      r.u8(); // reftype
      r.limits();
      return { kind: 'table' };
    case 2:
      return { kind: 'memory', limits: r.limits() };
    case 3:
      return { kind: 'global', valtype: r.valtype(), mutable: r.u8() === 1 };
    case 4:
      r.u8(); // attribute
      r.u32();
      return { kind: 'tag' };
    default:
      throw new BinaryFormatError(`unknown import kind ${kind} at byte ${r.at - 1}`);
  }
}

/** Skips a constant expression (the ones a global initialiser may hold), through its `end`. */
function skipConstExpr(r: Reader): void {
  for (;;) {
    const op = r.u8();
    switch (op) {
      case 0x0b: // end
        return;
      case 0x41: // i32.const
      case 0x42: // i64.const
        r.uleb(64);
        break;
      case 0x43: // f32.const
        r.skip(4);
        break;
      case 0x44: // f64.const
        r.skip(8);
        break;
      case 0x23: // global.get
      case 0xd2: // ref.func
        r.u32();
        break;
      case 0xd0: // ref.null
        r.u8();
        break;
      case 0x6a: // i32.add, sub, mul (extended constant expressions)
      case 0x6b:
      case 0x6c:
      case 0x7c: // i64.add, sub, mul
      case 0x7d:
      case 0x7e:
        break;
      case 0xfd: // v128.const
        if (r.u32() !== 12) throw new BinaryFormatError(`unsupported constant expression at byte ${r.at}`);
        r.skip(16);
        break;
      default:
        throw new BinaryFormatError(`unsupported constant expression opcode 0x${op.toString(16)} at byte ${r.at - 1}`);
    }
  }
}
