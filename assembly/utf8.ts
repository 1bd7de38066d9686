// Strict UTF-8 validation. AssemblyScript's `String.UTF8.decodeUnsafe` silently accepts
// malformed input, but the ABI requires a guest to fail on invalid UTF-8 exactly like a
// Rust guest (whose `String` deserialisation rejects it), so text is checked first.

/** Whether `byte` is a continuation byte (`10xxxxxx`) within `[low, high]`. */
function inRange(byte: u32, low: u32, high: u32): bool {
  return byte >= low && byte <= high;
}

/**
 * Whether the `length` bytes at `address` are well-formed UTF-8 (RFC 3629): no overlong
 * forms, no UTF-16 surrogates (U+D800–U+DFFF), nothing above U+10FFFF, no truncated
 * sequence at the end.
 */
export function isValidUtf8(address: usize, length: usize): bool {
  let i: usize = 0;
  while (i < length) {
    const lead = <u32>load<u8>(address + i);
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    // How many continuation bytes follow, and the allowed range of the first one: the
    // narrower ranges rule out overlong forms (E0, F0), surrogates (ED) and code points
    // beyond U+10FFFF (F4).
    let extra: usize;
    let low: u32 = 0x80;
    let high: u32 = 0xbf;
    if (inRange(lead, 0xc2, 0xdf)) {
      extra = 1;
    } else if (inRange(lead, 0xe0, 0xef)) {
      extra = 2;
      if (lead == 0xe0) low = 0xa0;
      else if (lead == 0xed) high = 0x9f;
    } else if (inRange(lead, 0xf0, 0xf4)) {
      extra = 3;
      if (lead == 0xf0) low = 0x90;
      else if (lead == 0xf4) high = 0x8f;
    } else {
      return false; // 80–C1 (continuation or overlong lead) and F5–FF never start a character
    }
    if (length - i <= extra) return false; // truncated
    if (!inRange(<u32>load<u8>(address + i + 1), low, high)) return false;
    for (let k: usize = 2; k <= extra; k++) {
      if (!inRange(<u32>load<u8>(address + i + k), 0x80, 0xbf)) return false;
    }
    i += extra + 1;
  }
  return true;
}
