/**
 * A decoder of function bodies: it walks every instruction of the code section, reading each
 * opcode's immediates, so the host can ask which instructions a module uses. Bytes cannot be
 * searched for an opcode directly — an immediate (a constant, an offset, a shuffle mask) can
 * hold any byte — so every immediate is read, by the binary format's rules: the core
 * instructions, sign extension, saturating truncation, bulk memory and reference types (the
 * `0xFC` prefix), SIMD (`0xFD`), threads (`0xFE`), exceptions, tail calls and typed function
 * references. Garbage-collection instructions (`0xFB`) are not decoded: they are reported
 * as unknown, like any opcode this decoder does not know.
 *
 * It does not validate (the engine compiled the module already); it only needs to stay in step.
 * @module
 */
import { BinaryFormatError, Reader, SectionId, type ModuleInfo } from './binary.js';

/** One instruction: its opcode byte, and for a prefixed one (0xFC, 0xFD, 0xFE) its sub-opcode. */
export interface Instruction {
  /** The first byte: the opcode, or the prefix. */
  readonly op: number;
  /** The sub-opcode after a prefix, or -1. */
  readonly sub: number;
  /** Offset of its first byte in the module. */
  readonly at: number;
}

/** An opcode the decoder does not know: the rest of its function cannot be read. */
export class UnknownInstruction extends Error {
  override readonly name = 'UnknownInstruction';
  constructor(
    /** The opcode as the module has it: `0xfb`, `0xfc 0x13`. */
    readonly opcode: string,
    /** Offset of its first byte in the module. */
    readonly at: number,
  ) {
    super(`unknown instruction ${opcode} at byte 0x${at.toString(16)}`);
  }
}

/** A prefix byte's instructions (0xFC: bulk memory, tables, saturating truncation). */
export const PREFIX_MISC = 0xfc;
export const PREFIX_SIMD = 0xfd;
export const PREFIX_THREADS = 0xfe;
export const PREFIX_GC = 0xfb;

/** The body of one defined function, as the code section holds it. */
export interface FunctionBody {
  /** Its index in the function index space (imported functions first). */
  readonly index: number;
  /** Offset of its first instruction (after the local declarations). */
  readonly codeStart: number;
  /** Offset just past its final `end`. */
  readonly end: number;
}

/** The bodies of the functions a module defines, in order. */
export function functionBodies(bytes: Uint8Array, info: ModuleInfo): FunctionBody[] {
  const code = info.sections.find((s) => s.id === SectionId.code);
  if (code === undefined) return [];
  const imported = info.imports.filter((i) => i.desc.kind === 'function').length;
  const r = new Reader(bytes, code.contentStart, code.end);
  const bodies: FunctionBody[] = [];
  for (let count = r.u32(), i = 0; i < count; i++) {
    const size = r.u32();
    const end = r.at + size;
    if (end > code.end) throw new BinaryFormatError(`function body ${i} runs past the code section`);
    const body = new Reader(bytes, r.at, end);
    for (let groups = body.u32(); groups > 0; groups--) {
      body.u32();
      skipValType(body);
    }
    bodies.push({ index: imported + i, codeStart: body.at, end });
    r.at = end;
  }
  return bodies;
}

/**
 * Calls `visit` for each instruction of `body`, in order; `visit` returns `false` to stop.
 * @throws {@link UnknownInstruction} at an opcode it does not know; {@link BinaryFormatError}
 *   when the body ends mid-instruction.
 */
export function forEachInstruction(bytes: Uint8Array, body: FunctionBody, visit: (instruction: Instruction) => boolean | void): void {
  const r = new Reader(bytes, body.codeStart, body.end);
  while (!r.done) {
    const at = r.at;
    const op = r.u8();
    const sub = op === PREFIX_MISC || op === PREFIX_SIMD || op === PREFIX_THREADS ? r.u32() : -1;
    if (op === PREFIX_GC) throw new UnknownInstruction(`0x${hex(op)} 0x${hex(peekU32(r))}`, at);
    const known = sub < 0 ? immediates(r, op) : prefixed(r, op, sub);
    if (!known) throw new UnknownInstruction(sub < 0 ? `0x${hex(op)}` : `0x${hex(op)} 0x${hex(sub)}`, at);
    if (visit({ op, sub, at }) === false) return;
  }
}

/** Reads the immediates of a one-byte opcode; false if the opcode is unknown. */
function immediates(r: Reader, op: number): boolean {
  if (op >= 0x45 && op <= 0xc4) return true; // numeric, sign extension: none
  if (op >= 0x28 && op <= 0x3e) {
    memarg(r); // loads and stores
    return true;
  }
  if (op >= 0x20 && op <= 0x26) {
    r.u32(); // local.*, global.*, table.get/set
    return true;
  }
  switch (op) {
    case 0x00: // unreachable
    case 0x01: // nop
    case 0x05: // else
    case 0x0a: // throw_ref
    case 0x0b: // end
    case 0x0f: // return
    case 0x19: // catch_all
    case 0x1a: // drop
    case 0x1b: // select
    case 0xd1: // ref.is_null
    case 0xd3: // ref.eq
    case 0xd4: // ref.as_non_null
      return true;
    case 0x02: // block
    case 0x03: // loop
    case 0x04: // if
    case 0x06: // try
      blockType(r);
      return true;
    case 0x07: // catch tag
    case 0x08: // throw tag
    case 0x09: // rethrow depth
    case 0x0c: // br
    case 0x0d: // br_if
    case 0x10: // call
    case 0x12: // return_call
    case 0x14: // call_ref type
    case 0x15: // return_call_ref type
    case 0x18: // delegate depth
    case 0xd2: // ref.func
    case 0xd5: // br_on_null
    case 0xd6: // br_on_non_null
      r.u32();
      return true;
    case 0x0e: // br_table: the labels, then the default
      for (let count = r.u32(); count > 0; count--) r.u32();
      r.u32();
      return true;
    case 0x11: // call_indirect type table
    case 0x13: // return_call_indirect
      r.u32();
      r.u32();
      return true;
    case 0x1c: // select with types
      for (let count = r.u32(); count > 0; count--) skipValType(r);
      return true;
    case 0x1f: // try_table: block type, then catch clauses
      blockType(r);
      for (let count = r.u32(); count > 0; count--) {
        const kind = r.u8();
        if (kind > 3) return false;
        if (kind < 2) r.u32(); // catch, catch_ref: the tag
        r.u32(); // the label
      }
      return true;
    case 0x3f: // memory.size
    case 0x40: // memory.grow
      r.u32();
      return true;
    case 0x41: // i32.const
      skipLeb(r, 5);
      return true;
    case 0x42: // i64.const
      skipLeb(r, 10);
      return true;
    case 0x43: // f32.const
      r.skip(4);
      return true;
    case 0x44: // f64.const
      r.skip(8);
      return true;
    case 0xd0: // ref.null heap type
      skipLeb(r, 5);
      return true;
    default:
      return false;
  }
}

/** Reads the immediates of a prefixed opcode; false if the sub-opcode is unknown. */
function prefixed(r: Reader, prefix: number, sub: number): boolean {
  if (prefix === PREFIX_MISC) return misc(r, sub);
  if (prefix === PREFIX_SIMD) return simd(r, sub);
  return threads(r, sub);
}

/** 0xFC: saturating truncation, bulk memory, tables. */
function misc(r: Reader, sub: number): boolean {
  if (sub <= 0x07) return true; // trunc_sat
  switch (sub) {
    case 0x08: // memory.init data memory
    case 0x0a: // memory.copy memory memory
    case 0x0c: // table.init elem table
    case 0x0e: // table.copy table table
      r.u32();
      r.u32();
      return true;
    case 0x09: // data.drop
    case 0x0b: // memory.fill
    case 0x0d: // elem.drop
    case 0x0f: // table.grow
    case 0x10: // table.size
    case 0x11: // table.fill
      r.u32();
      return true;
    default:
      return false;
  }
}

/** 0xFD: SIMD (and relaxed SIMD, which has no immediates). */
function simd(r: Reader, sub: number): boolean {
  if (sub <= 0x0b || sub === 0x5c || sub === 0x5d) {
    memarg(r); // loads, stores, load32_zero, load64_zero
  } else if (sub === 0x0c || sub === 0x0d) {
    r.skip(16); // v128.const, i8x16.shuffle
  } else if (sub >= 0x15 && sub <= 0x22) {
    r.u8(); // extract_lane, replace_lane
  } else if (sub >= 0x54 && sub <= 0x5b) {
    memarg(r); // load_lane, store_lane
    r.u8();
  } else if (sub > 0x113) {
    return false;
  }
  return true;
}

/** 0xFE: atomics. */
function threads(r: Reader, sub: number): boolean {
  if (sub === 0x03) r.u8(); // atomic.fence: a reserved byte
  else if (sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)) memarg(r);
  else return false;
  return true;
}

/** Alignment (with a memory index when its bit 6 is set, multi-memory), then the offset. */
function memarg(r: Reader): void {
  const align = r.u32();
  if ((align & 0x40) !== 0) r.u32();
  skipLeb(r, 10); // u64 for a 64-bit memory
}

/** Empty (0x40), one value type, or a type index (s33). */
function blockType(r: Reader): void {
  const first = r.bytes[r.at];
  if (first === 0x63 || first === 0x64) skipValType(r);
  else skipLeb(r, 5);
}

/** A value type: one byte, or a reference type `(ref null? heaptype)`. */
function skipValType(r: Reader): void {
  const code = r.u8();
  if (code === 0x63 || code === 0x64) skipLeb(r, 5);
}

/** Skips a LEB128 (signed or not: the same bytes end it) of at most `maxBytes` bytes. */
function skipLeb(r: Reader, maxBytes: number): void {
  for (let n = 1; (r.u8() & 0x80) !== 0; n++) {
    if (n >= maxBytes) throw new BinaryFormatError(`LEB128 longer than ${maxBytes} bytes at byte ${r.at}`);
  }
}

function peekU32(r: Reader): number {
  try {
    return r.u32();
  } catch {
    return 0;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** The names the module's `name` section gives its functions (debug info; often stripped). */
export function functionNames(bytes: Uint8Array, info: ModuleInfo): Map<number, string> {
  const names = new Map<number, string>();
  for (const section of info.sections) {
    if (section.id !== SectionId.custom) continue;
    try {
      const r = new Reader(bytes, section.contentStart, section.end);
      if (r.name() !== 'name') continue;
      while (!r.done) {
        const id = r.u8();
        const size = r.u32();
        const end = r.at + size;
        if (id === 1) {
          const sub = new Reader(bytes, r.at, end);
          for (let count = sub.u32(); count > 0; count--) names.set(sub.u32(), sub.name());
        }
        r.at = end;
      }
    } catch (thrown) {
      // A malformed name section costs the messages their names, nothing more.
      if (!(thrown instanceof BinaryFormatError)) throw thrown;
    }
  }
  return names;
}
