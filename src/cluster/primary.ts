/**
 * The primary of `stateroom serve --workers N`: it accepts every TCP connection, reads the
 * request line (the room id is in the path), and hands the socket to the worker process that
 * owns that room (Node passes socket handles over IPC). After that it never touches the
 * connection: a message costs no hop, and every room runs in exactly one worker, in order.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { STATUS_CODES, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCode, StateroomError, describeThrown } from '../errors.js';
import type { Logger } from '../logger.js';
import { MetricsEndpoint, UNAUTHORIZED, headerOf } from '../transport/metrics-endpoint.js';
import { PendingConnections, timedOut, type PendingLimits } from '../transport/pending.js';
import { endAndClose } from '../transport/reply.js';
import { ConnectionRate } from '../transport/rate-limit.js';
import { MAX_REQUEST_LINE_BYTES, routeOf, workerOf } from './affinity.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { Reports, type Answer } from './reports.js';

/** How long a worker may take to start before the cluster gives up. */
const START_TIMEOUT_MS = 60_000;
/** A worker that dies this soon after starting is restarted only after a pause. */
const RESTART_PAUSE_MS = 1_000;
/** The longest pause between attempts to restart a worker that keeps failing to start. */
const MAX_RESTART_PAUSE_MS = 30_000;
/** How long a connection may wait for its worker to be (re)started before it gets a 503. */
const WAIT_FOR_WORKER_MS = 10_000;
/** How many connections may wait for one worker; more get a 503 at once. */
const MAX_WAITING = 1_000;

export interface PrimaryOptions extends PendingLimits {
  /**
   * WebSocket connection attempts per minute per IP (0: no limit), counted here where
   * connections arrive (the workers then do not count them again); more get 429.
   */
  readonly connectionRateLimit: number;
  /** `/metrics` on a port of its own (0: a free one); the main port then answers it 404. */
  readonly metricsPort?: number | undefined;
  readonly metricsHost?: string | undefined;
  /** `/metrics` asks for `Authorization: Bearer <token>` when set. */
  readonly metricsToken?: string | undefined;
  readonly workers: number;
  readonly host: string;
  readonly port: number;
  /** How long workers get to close their clients and rooms on shutdown. */
  readonly shutdownTimeoutMs: number;
  /** Starts worker `index` (a child process with an IPC channel). */
  readonly spawn: (index: number) => ChildProcess;
}

/** One worker slot: its process, and the connections waiting for it or on their way to it. */
interface Slot {
  readonly index: number;
  child: ChildProcess;
  ready: boolean;
  startedAt: number;
  /** Starts that failed in a row: the next attempt waits longer. */
  failures: number;
  waiting: Array<{ socket: Socket; head: Buffer }>;
  /**
   * Sockets sent but not yet taken by the worker. Node passes handles one at a time; if the
   * worker dies, those still queued are neither sent nor closed, so the primary closes them.
   */
  readonly handing: Set<Socket>;
}

export class Primary {
  private readonly slots: Slot[] = [];
  private readonly server: Server;
  private readonly unrouted = new Set<Socket>();
  /** Deadlines and caps for connections whose request line has not arrived. */
  private readonly pending: PendingConnections;
  private readonly attempts: ConnectionRate;
  private readonly metrics: MetricsEndpoint;
  private metricsServer: HttpServer | undefined;
  private nextAny = 0;
  private stopping = false;
  /** Every worker has been ready once: a worker that fails now is a restart that failed. */
  private started = false;
  private readonly reports = new Reports();

  private constructor(
    private readonly options: PrimaryOptions,
    private readonly log: Logger,
  ) {
    this.pending = new PendingConnections(options, (socket) => {
      this.unrouted.delete(socket);
      timedOut(socket);
    });
    this.attempts = new ConnectionRate(options.connectionRateLimit);
    this.metrics = new MetricsEndpoint(() => this.reports.metrics(this.readyWorkers()), options.metricsToken, log);
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Starts every worker, then listens; resolves with the bound port once all are ready. */
  static async start(options: PrimaryOptions, log: Logger): Promise<{ primary: Primary; port: number; metricsPort: number | undefined }> {
    const primary = new Primary(options, log);
    const ready = Array.from({ length: options.workers }, (_, index) => primary.startWorker(index));
    await Promise.all(ready);
    primary.started = true;
    const port = await primary.listen();
    let metricsPort: number | undefined;
    if (options.metricsPort !== undefined) {
      const host = options.metricsHost ?? '127.0.0.1';
      try {
        const { server, address } = await primary.metrics.listen(options.metricsPort, host);
        primary.metricsServer = server;
        metricsPort = address.port;
      } catch (cause) {
        await primary.close();
        throw new StateroomError(ErrorCode.LISTEN_FAILED, `cannot serve metrics on ${host}:${options.metricsPort}: ${describeThrown(cause)}`, {}, { cause });
      }
    }
    return { primary, port, metricsPort };
  }

  private readyWorkers(): ChildProcess[] {
    return this.slots.filter((slot) => slot.ready).map((slot) => slot.child);
  }

  /** Stops accepting and asks every worker to close its clients (1001) and rooms; resolves when all have exited. */
  async close(): Promise<void> {
    this.stopping = true;
    this.server.close();
    this.metricsServer?.close();
    this.metricsServer?.closeAllConnections();
    for (const socket of this.unrouted) socket.destroy();
    await Promise.all(this.slots.map((slot) => this.stopWorker(slot)));
  }

  /** Ends every worker at once (a second Ctrl-C). */
  kill(): void {
    this.stopping = true;
    for (const slot of this.slots) slot.child.kill('SIGKILL');
  }

  private listen(): Promise<number> {
    const { port, host } = this.options;
    return new Promise((resolve, reject) => {
      this.server.once('error', (cause: NodeJS.ErrnoException) => {
        const hint =
          cause.code === 'EADDRINUSE'
            ? `port ${port} is already in use on ${host}: stop the other server or choose another port (--port)`
            : `cannot listen on ${host}:${port}: ${describeThrown(cause)}`;
        reject(new StateroomError(ErrorCode.LISTEN_FAILED, hint, {}, { cause }));
      });
      this.server.listen(port, host, () => {
        this.server.on('error', (err) => this.log.error({ err }, `the listening socket failed: ${describeThrown(err)}`));
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  private startWorker(index: number): Promise<void> {
    const child = this.options.spawn(index);
    const slot: Slot = this.slots[index] ?? { index, child, ready: false, startedAt: Date.now(), failures: 0, waiting: [], handing: new Set() };
    Object.assign(slot, { child, ready: false, startedAt: Date.now() });
    this.slots[index] = slot;
    // A fork that fails (EAGAIN, EMFILE) is reported here, then as an exit.
    child.on('error', (err) => this.log.error({ err, worker: index }, `worker ${index}: ${describeThrown(err)}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Killed, not left to finish starting: its replacement serves the same rooms, and two
        // processes must never own one room (both would write its images).
        child.kill('SIGKILL');
        reject(this.startError(index, `it did not start within ${START_TIMEOUT_MS / 1000} s`));
      }, START_TIMEOUT_MS);
      child.on('message', (message: FromWorker) => {
        if (message.type === 'failed' && slot.child === child && !slot.ready) {
          // At start, the worker's own error is the one line the command prints; on a restart, a log line.
          clearTimeout(timer);
          reject(this.started ? new StateroomError(message.code, `worker ${index} could not start: ${message.message}`) : new StateroomError(message.code, message.message));
          return;
        }
        if (this.reports.received(message) || message.type !== 'ready' || slot.child !== child) return;
        clearTimeout(timer);
        slot.ready = true;
        slot.failures = 0;
        for (const { socket, head } of slot.waiting.splice(0)) this.hand(slot, socket, head);
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        // Sockets still on their way to it will never arrive: their clients see a drop. (A child
        // replaced meanwhile leaves its successor's alone.)
        if (slot.child === child) {
          for (const socket of slot.handing) socket.destroy();
          slot.handing.clear();
        }
        if (!slot.ready) reject(this.startError(index, `it exited (${signal ?? `code ${code}`}) before it was ready`));
        else this.exited(slot, child, code, signal);
      });
    });
  }

  private startError(index: number, why: string): StateroomError {
    return new StateroomError(ErrorCode.LISTEN_FAILED, `worker ${index} could not start: ${why}; see the lines above`);
  }

  /** A worker died while serving: its rooms are gone; start another in its place. */
  private exited(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || slot.child !== child) return;
    slot.ready = false;
    this.log.error({ worker: slot.index, code, signal }, `worker ${slot.index} exited (${signal ?? `code ${code}`}); its rooms are lost, starting another`);
    this.restart(slot, Date.now() - slot.startedAt < RESTART_PAUSE_MS ? RESTART_PAUSE_MS : 0);
  }

  /** Starts `slot`'s worker again after `pauseMs`, and keeps trying, each time waiting longer. */
  private restart(slot: Slot, pauseMs: number): void {
    setTimeout(() => {
      if (this.stopping) return;
      this.startWorker(slot.index).catch((err: unknown) => {
        slot.failures += 1;
        const next = Math.min(MAX_RESTART_PAUSE_MS, RESTART_PAUSE_MS * 2 ** slot.failures);
        this.log.error({ worker: slot.index, failures: slot.failures }, `${describeThrown(err)}; trying again in ${next / 1000} s`);
        this.restart(slot, next);
      });
    }, pauseMs).unref();
  }

  private stopWorker(slot: Slot): Promise<void> {
    const { child } = slot;
    for (const { socket } of slot.waiting.splice(0)) socket.destroy();
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      // Past the workers' own deadline (and the 1001 grace), stop waiting for them.
      const kill = setTimeout(() => child.kill('SIGKILL'), this.options.shutdownTimeoutMs + 5_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      this.tell(child, { type: 'shutdown' });
    });
  }

  /** Reads a connection's request line, then hands it to the worker that owns its room. */
  private accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    // Over the caps (a slowloris holding connections open), closed before it costs more.
    if (!this.pending.admit(socket)) return;
    this.unrouted.add(socket);
    socket.once('close', () => this.unrouted.delete(socket));
    let head: Buffer = Buffer.alloc(0);
    const routed = (): void => {
      socket.off('data', onData);
      this.pending.settle(socket);
      this.unrouted.delete(socket);
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const route = routeOf(head);
      if (route.kind === 'incomplete') return;
      if (route.kind === 'too-long') {
        routed();
        respond(socket, { status: 414, contentType: 'text/plain; charset=utf-8', body: `the request line is longer than ${MAX_REQUEST_LINE_BYTES} bytes` });
        return;
      }
      if (route.kind === 'report') {
        // Answered here, once the request's headers are in (so nothing is left unread).
        if (!head.includes('\r\n\r\n') && head.length < MAX_REQUEST_LINE_BYTES) return;
        routed();
        void this.answer(socket, route.what, head);
        return;
      }
      if (route.kind === 'room' && !this.attempts.allow(socket.remoteAddress ?? '?', Date.now())) {
        routed();
        respond(socket, { status: 429, contentType: 'text/plain; charset=utf-8', body: `too many connection attempts from ${socket.remoteAddress ?? '?'}; try again in a minute` });
        return;
      }
      routed();
      socket.pause();
      head = Buffer.concat([head, ...drain(socket)]);
      stopReading(socket);
      this.hand(route.kind === 'room' ? this.slots[workerOf(route.roomId, this.slots.length)]! : this.anyWorker(), socket, head);
    };
    socket.on('data', onData);
  }

  /** Answers `/status?format=json` or `/metrics` for the whole cluster, and closes. */
  private async answer(socket: Socket, what: 'status' | 'metrics', head: Buffer): Promise<void> {
    if (what === 'metrics' && this.options.metricsPort !== undefined) {
      respond(socket, { status: 404, contentType: 'text/plain; charset=utf-8', body: 'not found: /metrics is served on its own port' });
      return;
    }
    if (what === 'metrics' && !this.metrics.allows(headerOf(head, 'authorization'))) {
      respond(socket, UNAUTHORIZED);
      return;
    }
    let answer: Answer;
    try {
      answer = what === 'status' ? await this.reports.status(this.readyWorkers()) : { status: 200, ...(await this.metrics.text()) };
    } catch (err) {
      this.log.error({ err }, `${what} failed: ${describeThrown(err)}`);
      answer = { status: 500, contentType: 'text/plain; charset=utf-8', body: `${what} failed` };
    }
    respond(socket, answer);
  }

  /** For a request any worker can answer: the next ready one in turn (or the next, if none is). */
  private anyWorker(): Slot {
    const { slots } = this;
    for (let tried = 0; tried < slots.length; tried++) {
      const slot = slots[this.nextAny++ % slots.length]!;
      if (slot.ready) return slot;
    }
    return slots[this.nextAny++ % slots.length]!;
  }

  private hand(slot: Slot, socket: Socket, head: Buffer): void {
    // A client that left while its worker was starting is not worth a message.
    if (socket.destroyed) return;
    if (!slot.ready) {
      this.wait(slot, socket, head);
      return;
    }
    socket.setTimeout(0);
    slot.handing.add(socket);
    const message: ToWorker = { type: 'connection', head: head.toString('base64') };
    if (!slot.child.connected) {
      slot.handing.delete(socket);
      socket.destroy();
      return;
    }
    slot.child.send(message, socket, (err) => {
      slot.handing.delete(socket);
      if (err !== null && err !== undefined) socket.destroy();
    });
  }

  /** Holds a connection for a worker being (re)started, for a while; then, or when too many wait, a 503. */
  private wait(slot: Slot, socket: Socket, head: Buffer): void {
    const busy = `worker ${slot.index} is starting; try again shortly`;
    if (slot.waiting.length >= MAX_WAITING) {
      refuse(socket, busy);
      return;
    }
    slot.waiting.push({ socket, head });
    socket.setTimeout(WAIT_FOR_WORKER_MS, () => {
      slot.waiting = slot.waiting.filter((entry) => entry.socket !== socket);
      refuse(socket, busy);
    });
  }

  private tell(child: ChildProcess, message: ToWorker): void {
    if (child.connected) child.send(message);
  }
}

/** Answers 503 on a connection no worker can take now, and closes it. */
function refuse(socket: Socket, reason: string): void {
  respond(socket, { status: 503, contentType: 'text/plain; charset=utf-8', body: reason });
}

/** Writes one HTTP answer on a raw connection and closes it. */
function respond(socket: Socket, { status, contentType, body }: Answer): void {
  const bytes = Buffer.from(body);
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: ${contentType}\r\ncontent-length: ${bytes.length}\r\nconnection: close\r\n\r\n`;
  endAndClose(socket, Buffer.concat([Buffer.from(head, 'latin1'), bytes]));
}

/** What a paused socket has read but not yet emitted. */
function drain(socket: Socket): Buffer[] {
  const chunks: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) chunks.push(chunk);
  return chunks;
}

/**
 * Stops this process reading the socket before its handle goes to a worker. `pause()` alone
 * does not: Node keeps reading into the stream's buffer, and until the worker acknowledges
 * the handle this process would still take (and drop) bytes the client sends after the
 * worker's 101 answer — its first WebSocket frames. There is no public API for this, so it
 * calls the handle's `readStop()`, which every Node stream socket has had for a decade.
 */
function stopReading(socket: Socket): void {
  const handle = (socket as unknown as { _handle?: { readStop?: () => number; reading?: boolean } })._handle;
  if (typeof handle?.readStop !== 'function') return; // pause() is then the best there is
  handle.reading = false;
  handle.readStop();
}

/** Forks worker `index`: the same command line, run as a worker (see `STATEROOM_WORKER`). */
export function forkSelf(index: number): ChildProcess {
  return fork(process.argv[1]!, process.argv.slice(2), {
    env: { ...process.env, STATEROOM_WORKER: String(index) },
    execArgv: process.execArgv,
  });
}
