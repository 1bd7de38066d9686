// The page test/react.test.ts bundles with esbuild (react, react-dom and stateroom/react) and
// opens in Chromium. `?room=<id>` picks the room, `&strict=1` renders under <StrictMode>.
// Written with createElement rather than JSX, so that the project's tsconfig (no DOM, no JSX)
// typechecks it as it is.
import { StrictMode, createElement as h, useEffect, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import type { Incoming } from '../../src/json/index.js';
import { useJsonRoom, useRoom } from '../../src/react/index.js';
import type { Talk } from './service.js';

/** The little of the DOM this page touches (the project's lib is ES only). */
declare const document: { getElementById(id: string): unknown };
declare const location: { search: string };
/** Counters the test reads with page.evaluate. */
const counters = ((globalThis as { counters?: Record<string, number> }).counters = { renders: 0, effects: 0, jsonMessages: 0 });

const params = new URLSearchParams(location.search);
const room = params.get('room') ?? 'react';

function JsonView(): ReactNode {
  const [text, setText] = useState('');
  // A new options object and a new onMessage on every render: neither may reconnect.
  const { status, lastMessage, send } = useJsonRoom<Talk>('/', { room, onMessage: () => void (counters.jsonMessages += 1) });
  counters.renders += 1;
  useEffect(() => void (counters.effects += 1), []);
  return h('section', null,
    h('output', { id: 'json-status' }, status),
    h('output', { id: 'json-last' }, describe(lastMessage)),
    h('input', { id: 'json-text', value: text, onChange: (e: { target: { value: string } }) => setText(e.target.value) }),
    h('button', { id: 'json-send', onClick: () => send({ type: 'say', text }) }, 'say'),
  );
}

function describe(message: Incoming<Talk> | undefined): string {
  if (message === undefined) return 'nothing yet';
  if (message.type === 'said') return `said by ${message.from}: ${message.text}`;
  if (message.type === 'error') return `refused: ${message.error}`;
  return `hello ${message.client}`;
}

function RawView(): ReactNode {
  const { status, lastMessage, send } = useRoom('/', { room: `${room}-raw` });
  return h('section', null,
    h('output', { id: 'raw-status' }, status),
    h('output', { id: 'raw-last' }, typeof lastMessage === 'string' ? lastMessage : 'nothing yet'),
    h('button', { id: 'raw-send', onClick: () => send('ping') }, 'ping'),
  );
}

function App(): ReactNode {
  const [mounted, setMounted] = useState(true);
  const [clicks, setClicks] = useState(0);
  return h('main', null,
    h('button', { id: 'toggle', onClick: () => setMounted(!mounted) }, mounted ? 'unmount' : 'mount'),
    h('button', { id: 'rerender', onClick: () => setClicks(clicks + 1) }, `rendered ${clicks}`),
    mounted ? h(JsonView) : null,
    mounted ? h(RawView) : null,
  );
}

const app = h(App);
createRoot(document.getElementById('root') as Parameters<typeof createRoot>[0]).render(params.get('strict') === '1' ? h(StrictMode, null, app) : app);
