// Helpers for the client's end-to-end tests: the machine's Chromium (see CHROMIUM in
// programs.ts) driven by playwright-core (never a downloaded browser), a TCP proxy that can cut or refuse connections (a network
// drop, with real sockets on both sides), and a server restarted on the port it had.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { serve, type RunningServer, type ServerOptions, type ServiceSource } from '../../src/index.js';
import { within } from './deadline.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu'];
/** Every Playwright wait (locators, navigation) gives up after this long. */
export const BROWSER_DEADLINE_MS = 8_000;

export interface Browser {
  readonly context: BrowserContext;
  /** Closes Chromium and removes its profile. */
  close(): Promise<void>;
}

/** Starts headless Chromium (`executablePath`) with an empty profile of its own (a temporary directory). */
export async function launchBrowser(executablePath: string): Promise<Browser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'stateroom-chromium-'));
  const context = await within(
    chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 20_000 }),
    'chromium to start',
    25_000,
  );
  context.setDefaultTimeout(BROWSER_DEADLINE_MS);
  return {
    context,
    close: async () => {
      await within(context.close(), 'chromium to close', 10_000).catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface Proxy {
  /** The port clients connect to instead of the server's. */
  readonly port: number;
  /** Connections accepted so far (refused ones included). */
  readonly accepted: number;
  /** Cuts every open connection, both ways, without a close frame: what a network drop looks like. */
  cut(): void;
  /** Cuts every connection and refuses new ones (accepted, then closed at once) until `up()`. */
  down(): void;
  up(): void;
}

/** A TCP proxy on 127.0.0.1 to `targetPort`, closed when the test ends. */
export async function startProxy(t: TestContext, targetPort: number): Promise<Proxy> {
  const open = new Set<Socket>();
  let refusing = false;
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    if (refusing) {
      socket.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    const end = (): void => {
      socket.destroy();
      upstream.destroy();
      open.delete(socket);
      open.delete(upstream);
    };
    for (const s of [socket, upstream]) {
      open.add(s);
      s.on('error', end).on('close', end);
    }
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  await within(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), 'the proxy to listen');
  const cut = (): void => {
    for (const socket of [...open]) socket.destroy();
  };
  t.after(async () => {
    cut();
    await within(new Promise((resolve) => server.close(resolve)), 'the proxy to close');
  });
  return {
    port: (server.address() as { port: number }).port,
    get accepted() {
      return accepted;
    },
    cut,
    down: () => {
      refusing = true;
      cut();
    },
    up: () => {
      refusing = false;
    },
  };
}

/**
 * Starts `serve()` on `port` — the port an earlier server of the test had, so its clients
 * find the new one. Closed when the test ends.
 */
export async function serveOn(t: TestContext, port: number, service: ServiceSource, options: ServerOptions = {}): Promise<RunningServer> {
  const server = await serve(service, { host: '127.0.0.1', logLevel: 'silent', ...options, port });
  t.after(() => server.close());
  return server;
}
