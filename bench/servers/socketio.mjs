// Socket.IO peer: websocket transport only (no long-polling upgrade dance), the room named
// in the handshake query, every 'm' event re-emitted to the room with io.to(room).emit —
// the sender included, as the other targets do. Prints {"port":N} once listening.
import http from 'node:http';
import { Server } from 'socket.io';

const server = http.createServer();
const io = new Server(server, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });

io.on('connection', (socket) => {
  const room = String(socket.handshake.query.room ?? '1');
  void socket.join(room);
  socket.on('m', (text) => {
    if (typeof text === 'string') io.to(room).emit('m', text);
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
});
process.on('SIGTERM', () => io.close(() => process.exit(0)));
