// The few WASI functions the SDK uses. Hosts satisfy `wasi_snapshot_preview1` imports
// because Rust guests need them (see the ABI document), so printing through WASI works on
// our host and on upstream's alike; a function is imported only if something calls it.

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLength: usize, written: usize): u16;

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
declare function random_get(buffer: usize, length: usize): u16;

/** WASI's file descriptor for standard output. */
export const STDOUT: u32 = 1;
/** WASI's file descriptor for standard error. */
export const STDERR: u32 = 2;

// Static scratch for one `ciovec` (address, length) and the "bytes written" result. It is
// not on the heap so that printing works even when the allocator is what failed.
const scratch: usize = memory.data(12, 4);

/**
 * Writes `length` bytes at `address` to `fd`, retrying partial writes. Gives up silently
 * on an error: printing is best effort and must never be the reason a room fails.
 */
export function writeBytes(fd: u32, address: usize, length: usize): void {
  while (length > 0) {
    store<u32>(scratch, <u32>address);
    store<u32>(scratch, <u32>length, 4);
    if (fd_write(fd, scratch, 1, scratch + 8) != 0) return;
    const written = <usize>load<u32>(scratch, 8);
    if (written == 0) return;
    address += written;
    length -= written;
  }
}

/** Writes `text`, UTF-8 encoded, to `fd`. */
export function writeText(fd: u32, text: string): void {
  const bytes = String.UTF8.encode(text, false, String.UTF8.ErrorMode.REPLACE);
  writeBytes(fd, changetype<usize>(bytes), <usize>bytes.byteLength);
}

/** Fills `length` bytes at `address` with random bytes from the host; traps if it cannot. */
export function fillRandom(address: usize, length: usize): void {
  if (random_get(address, length) != 0) unreachable();
}
