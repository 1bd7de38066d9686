// The floor of Node itself: what the benchmark's room echo costs with nothing between the
// socket and the rooms — no `ws`, no framework. node:http answers the upgrade by hand, a
// parser of a few lines reads the clients' frames straight from each `data` chunk (small
// masked text frames only: what the benchmark's clients send; anything else closes the
// socket), and the frames of a turn leave a socket in one write. It checks nothing a real
// server must (UTF-8, limits, control frames, fragments), so it is not a server to use: it
// shows how far below raw `ws` any Node.js server can get on these scenarios.
// Prints {"port":N} once listening.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { setImmediate } from 'node:timers';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** @type {Map<string, Set<Peer>>} */
const rooms = new Map();
/** @type {Set<Peer>} */
const pending = new Set();
let flushQueued = false;

class Peer {
  /** @param {import('node:net').Socket} socket */
  constructor(socket) {
    this.socket = socket;
    /** @type {Buffer[]} */
    this.out = [];
    /** @type {Buffer | undefined} */
    this.rest = undefined;
  }

  /** @param {Buffer} frame */
  queue(frame) {
    if (this.out.push(frame) === 1) pending.add(this);
    if (!flushQueued) {
      flushQueued = true;
      setImmediate(flush);
    }
  }
}

function flush() {
  flushQueued = false;
  for (const peer of pending) {
    const { out } = peer;
    peer.out = [];
    if (!peer.socket.destroyed) peer.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
  }
  pending.clear();
}

/** A server frame (unmasked, FIN, text) around `payload`. */
function textFrame(payload) {
  const n = payload.length;
  const head = n < 126 ? 2 : 4;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x81;
  if (n < 126) frame[1] = n;
  else {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  }
  payload.copy(frame, head);
  return frame;
}

/**
 * Reads the whole client frames in `chunk` (after what was left of the last one), calls
 * `onText` with each unmasked payload, and returns what is left over.
 */
function readFrames(peer, chunk, onText) {
  let data = peer.rest === undefined ? chunk : Buffer.concat([peer.rest, chunk]);
  let at = 0;
  while (data.length - at >= 6) {
    const opcode = data[at] & 0x0f;
    let length = data[at + 1] & 0x7f;
    let head = 2;
    if ((data[at] & 0x80) === 0 || (data[at + 1] & 0x80) === 0 || length === 127) {
      peer.socket.destroy();
      return undefined;
    }
    if (length === 126) {
      if (data.length - at < 8) break;
      length = data.readUInt16BE(at + 2);
      head = 4;
    }
    if (data.length - at < head + 4 + length) break;
    if (opcode === 0x8) {
      peer.socket.end();
      return undefined;
    }
    const maskAt = at + head;
    const payload = data.subarray(maskAt + 4, maskAt + 4 + length);
    for (let i = 0; i < length; i += 1) payload[i] ^= data[maskAt + (i & 3)];
    if (opcode === 0x1) onText(payload);
    at = maskAt + 4 + length;
  }
  return at === data.length ? undefined : data.subarray(at);
}

const server = http.createServer((_req, res) => res.writeHead(404).end());
server.on('upgrade', (req, socket, head) => {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string') return socket.destroy();
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.setNoDelay(true);
  const roomId = (req.url ?? '/ws').replace(/^\/ws\/?/, '') || '1';
  let room = rooms.get(roomId);
  if (!room) rooms.set(roomId, (room = new Set()));
  const peer = new Peer(socket);
  room.add(peer);
  const broadcast = (payload) => {
    const frame = textFrame(payload);
    for (const other of room) other.queue(frame);
  };
  const onData = (chunk) => {
    peer.rest = readFrames(peer, chunk, broadcast);
  };
  if (head.length > 0) onData(head);
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    room.delete(peer);
    pending.delete(peer);
    if (room.size === 0) rooms.delete(roomId);
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  // `parts`: the bench prints this process's kernel share of its CPU (run.ts, "by part").
  console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0, parts: { server: process.pid } }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
