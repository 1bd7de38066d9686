/**
 * The outbox: how frames reach sockets. Two things make a broadcast cheap:
 *
 * - **Frame once.** A room hands the same payload to every recipient in turn; the outbox
 *   keeps the frame of the last payload it framed, so 32 recipients cost one encode, one
 *   frame and 32 writes of the same bytes.
 * - **One write per socket per turn.** The first frame written to a socket in an event-loop
 *   turn corks it; every socket corked this turn is uncorked once the turn's I/O callbacks
 *   have run (`setImmediate`), so all the frames of the turn leave in one `writev` instead
 *   of one syscall each. Frames `ws` writes itself (pings, pongs, close frames) go through
 *   the same corked socket, so their order with ours is kept.
 *
 * The room copies bytes a service sends (one copy per `sendMessage`), so a payload seen again
 * is the same message: its frame can be reused, and its bytes can wait in a socket's buffer.
 * @module
 */
import type { Socket } from 'node:net';
import type { Payload } from '../service/types.js';
import { frameOf, type Frame } from './frame.js';

/**
 * Past this many bytes waiting in a corked socket, it is written out at once: batching
 * gains nothing for large bursts, and the kernel should take them while the turn goes on.
 */
const WRITE_THROUGH_BYTES = 64 * 1024;

export class Outbox {
  private lastPayload: Payload | undefined;
  private lastFrame: Frame | undefined;
  private corked: Socket[] = [];
  private readonly flushBound = (): void => this.flush();

  /** Writes `payload` as one frame to `socket`, corked until the end of this turn. */
  write(socket: Socket, payload: Payload): void {
    const frame = this.frame(payload);
    if (socket.writableCorked === 0) {
      socket.cork();
      if (this.corked.push(socket) === 1) setImmediate(this.flushBound);
    }
    if (isSplit(frame)) {
      socket.write(frame[0]);
      socket.write(frame[1]);
    } else {
      socket.write(frame);
    }
    if (socket.writableLength > WRITE_THROUGH_BYTES) this.release(socket);
  }

  /** Sends what was written to `socket` this turn now (before it is closed, say). */
  release(socket: Socket): void {
    while (socket.writableCorked > 0) socket.uncork();
  }

  /** Sends everything written this turn. */
  flush(): void {
    const sockets = this.corked;
    this.corked = [];
    // Forget the last frame too: it must not keep a large payload alive between turns.
    this.lastPayload = undefined;
    this.lastFrame = undefined;
    for (const socket of sockets) this.release(socket);
  }

  private frame(payload: Payload): Frame {
    // For strings `===` compares contents (the same object is a pointer compare); for bytes,
    // identity — the room's own copy, which nothing changes.
    if (payload === this.lastPayload && this.lastFrame !== undefined) return this.lastFrame;
    const frame = frameOf(payload);
    this.lastPayload = payload;
    this.lastFrame = frame;
    return frame;
  }
}

function isSplit(frame: Frame): frame is readonly [Buffer, Uint8Array] {
  return Array.isArray(frame);
}
