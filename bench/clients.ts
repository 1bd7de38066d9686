// One benchmark client per protocol, behind the little the load generator needs: join a room,
// send a text, hear every text the room broadcasts, notice when the connection ends.
import { io as socketIo } from 'socket.io-client';
import { WebSocket } from 'ws';

/** 'ws': a plain WebSocket to `/ws/<room>`; 'socketio': socket.io-client; 'colyseus': colyseus.js. */
export type Protocol = 'ws' | 'socketio' | 'colyseus';

export interface Client {
  send(text: string): void;
}

export interface Handlers {
  readonly onText: (text: string) => void;
  /** The server or the network ended the connection. */
  readonly onClose: () => void;
}

export function connect(protocol: Protocol, port: number, room: string, handlers: Handlers): Promise<Client> {
  switch (protocol) {
    case 'ws':
      return connectWs(port, room, handlers);
    case 'socketio':
      return connectSocketIo(port, room, handlers);
    case 'colyseus':
      return connectColyseus(port, room, handlers);
  }
}

function connectWs(port: number, room: string, { onText, onClose }: Handlers): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${room}`, { perMessageDeflate: false });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) onText((data as Buffer).toString('utf8'));
    });
    ws.once('open', () => resolve({ send: (text) => ws.send(text) }));
    ws.once('error', reject);
    ws.once('close', onClose);
  });
}

function connectSocketIo(port: number, room: string, { onText, onClose }: Handlers): Promise<Client> {
  return new Promise((resolve, reject) => {
    // forceNew: without it socket.io-client multiplexes every client over one connection.
    const socket = socketIo(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      query: { room },
      forceNew: true,
      reconnection: false,
    });
    socket.on('m', (text: unknown) => {
      if (typeof text === 'string') onText(text);
    });
    socket.once('connect', () => resolve({ send: (text) => socket.emit('m', text) }));
    socket.once('connect_error', reject);
    socket.once('disconnect', onClose);
  });
}

/** The part of colyseus.js (0.15, 0.16) used here. */
interface ColyseusRoom {
  send(type: string, message: unknown): void;
  onMessage(type: string, callback: (message: unknown) => void): unknown;
  onLeave(callback: (code: number) => void): unknown;
}
interface ColyseusModule {
  Client: new (endpoint: string) => { joinOrCreate(roomName: string, options: object): Promise<ColyseusRoom> };
}

let colyseus: Promise<ColyseusModule> | undefined;

/**
 * colyseus.js is imported by a computed name because it is not a dependency of the project:
 * the colyseus target is skipped when it is not installed, and this file must still typecheck
 * and load without it. `room` is the matchmaking option colyseus.mjs filters rooms by.
 */
async function connectColyseus(port: number, room: string, { onText, onClose }: Handlers): Promise<Client> {
  const specifier = 'colyseus.js';
  colyseus ??= import(specifier) as Promise<ColyseusModule>;
  const { Client: ColyseusClient } = await colyseus;
  const joined = await new ColyseusClient(`ws://127.0.0.1:${port}`).joinOrCreate('broadcast', { room });
  joined.onMessage('m', (text) => {
    if (typeof text === 'string') onText(text);
  });
  joined.onLeave(onClose);
  return { send: (text) => joined.send('m', text) };
}
