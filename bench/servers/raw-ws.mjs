// The floor: node:http + ws, rooms as a Map of Sets, each text message sent as-is to every
// socket of its room (sender included). No framework, no checks — what any stack built on
// `ws` costs at least. Prints {"port":N} once listening.
import http from 'node:http';
import { WebSocketServer } from 'ws';

/** @type {Map<string, Set<import('ws').WebSocket>>} */
const rooms = new Map();
const server = http.createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false });

wss.on('connection', (ws, req) => {
  const roomId = (req.url ?? '/ws').replace(/^\/ws\/?/, '') || '1';
  let room = rooms.get(roomId);
  if (!room) rooms.set(roomId, (room = new Set()));
  room.add(ws);
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    for (const peer of room) peer.send(data, { binary: false });
  });
  ws.on('close', () => {
    room.delete(ws);
    if (room.size === 0) rooms.delete(roomId);
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  // `parts`: the bench prints this process's kernel share of its CPU (run.ts, "by part").
  console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0, parts: { server: process.pid } }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
