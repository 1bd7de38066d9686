// Colyseus peer (0.16, the last line that runs on Node 20; 0.15 works too): @colyseus/core +
// @colyseus/ws-transport, the client being colyseus.js. One room type, 'broadcast', matched by the `room` join option (filterBy), so clients naming
// the same room share one room instance; every 'm' message is broadcast to the whole room,
// the sender included, as the other targets do. Prints {"port":N} once listening.
// Not a dependency of the project: bench/targets.ts skips this target unless it is installed.
import http from 'node:http';
import { Room, Server } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';

class Broadcast extends Room {
  onCreate() {
    // No state to synchronize, so no patch timer ticking in every room (the others have none).
    this.setPatchRate(null);
    this.onMessage('m', (_client, text) => {
      if (typeof text === 'string') this.broadcast('m', text);
    });
  }
}

const server = http.createServer();
// gracefullyShutdown: false — Colyseus would otherwise take SIGTERM itself; the handler below does the same, once.
const transport = new WebSocketTransport({ server, perMessageDeflate: false });
const colyseus = new Server({ transport, greet: false, gracefullyShutdown: false });
colyseus.define('broadcast', Broadcast).filterBy(['room']);
await colyseus.listen(0, '127.0.0.1');
const address = server.address();
console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
process.on('SIGTERM', () => void colyseus.gracefullyShutdown(false).then(() => process.exit(0)));
