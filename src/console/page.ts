/**
 * The room console's page: one HTML document with its CSS and script inline, so it needs
 * nothing but this server (it works offline) and ships inside the compiled module (tsc
 * copies no other files into dist). The script loads the client library from
 * `./__stateroom/client/index.js`, which the console handler serves from the build.
 *
 * The script is plain JavaScript in a string: no template literals inside, so that this
 * TypeScript template stays free of `${…}`.
 * @module
 */

const STYLE = `
:root { color-scheme: light dark; --fg: #1f2328; --bg: #fff; --muted: #656d76; --line: #d0d7de; --accent: #0969da;
  --in: #1a7f37; --out: #0969da; --ev: #8250df; --err: #cf222e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0; --line: #30363d;
  --accent: #2f81f7; --in: #3fb950; --out: #58a6ff; --ev: #bc8cff; --err: #ff7b72; } }
* { box-sizing: border-box; }
html { height: 100%; }
body { display: flex; flex-direction: column; gap: .6rem; height: 100%; max-width: 56rem; margin: 0 auto; padding: .75rem;
  font: 16px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: .6rem; flex-wrap: wrap; }
h1 { font-size: 1.1rem; margin: 0; }
#state { font-size: .85rem; padding: .1rem .55rem; border-radius: 999px; border: 1px solid var(--line); color: var(--muted); }
#state[data-state="open"] { color: var(--in); border-color: var(--in); }
#state[data-state="connecting"], #state[data-state="reconnecting"] { color: var(--ev); border-color: var(--ev); }
#state[data-state="closed"] { color: var(--err); border-color: var(--err); }
form { display: flex; gap: .5rem; margin: 0; }
input { flex: 1; min-width: 0; font: inherit; padding: .45rem .6rem; color: inherit; background: transparent;
  border: 1px solid var(--line); border-radius: 6px; }
input:focus { outline: 2px solid var(--accent); outline-offset: -1px; }
button { font: inherit; padding: .45rem 1rem; color: #fff; background: var(--accent); border: 0; border-radius: 6px; cursor: pointer; }
button:disabled, input:disabled { opacity: .5; cursor: default; }
dl { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: .15rem .75rem; margin: 0; font-size: .9rem; }
dt { color: var(--muted); }
dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
#log { flex: 1; min-height: 8rem; overflow-y: auto; margin: 0; padding: .3rem 0; list-style: none;
  border-block: 1px solid var(--line); font: .88rem/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
#log li { display: flex; gap: .6rem; padding: 0 .3rem; }
#log li::before { flex: none; width: .8em; text-align: center; }
#log time { flex: none; color: var(--muted); }
#log span { min-width: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
#log .in::before { content: "\\2190"; color: var(--in); }
#log .out::before { content: "\\2192"; color: var(--out); }
#log .ev { color: var(--ev); }
#log .ev::before { content: "\\00b7"; }
#log .err { color: var(--err); }
#log .err::before { content: "!"; }
@media (max-width: 36rem) {
  dl { grid-template-columns: max-content 1fr; }
  #log { font-size: .82rem; }
  #log li { display: block; }
  #log li::before { display: inline-block; }
  #log time { margin: 0 .5rem 0 .2rem; }
}
`;

const SCRIPT = `
const $ = (id) => document.getElementById(id);
const KEY = 'stateroom.console.token';
const CODES = { 1000: 'normal', 1001: 'server going away', 1006: 'connection lost', 1008: 'policy', 1009: 'message too big',
  1011: 'room failed', 1012: 'service restarted', 1013: 'try again later', 4001: 'replaced by a newer connection with this token' };
let lib, client, seat = '\\u2013';

const pad = (n, w) => String(n).padStart(w || 2, '0');
function stamp() {
  const d = new Date();
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
}
function bytes(d) {
  const hex = Array.from(d.subarray(0, 32), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return '<' + d.length + ' bytes> ' + hex + (d.length > 32 ? ' \\u2026' : '');
}
function add(kind, text) {
  const log = $('log');
  const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const li = document.createElement('li');
  const time = document.createElement('time');
  const span = document.createElement('span');
  li.className = kind;
  time.textContent = stamp();
  span.textContent = text;
  li.append(time, span);
  log.append(li);
  while (log.childElementCount > 1000) log.firstElementChild.remove();
  if (atEnd) log.scrollTop = log.scrollHeight;
}
function show() {
  const c = client;
  const live = !!c && c.state !== 'closed';
  $('state').textContent = c ? c.state : 'not connected';
  $('state').dataset.state = c ? c.state : 'idle';
  $('url').textContent = c ? c.url : '\\u2013';
  $('token').textContent = c ? c.token : sessionStorage.getItem(KEY) || '(made on connect)';
  $('seat').textContent = seat;
  $('received').textContent = c ? String(c.received) : '\\u2013';
  $('queued').textContent = c ? String(c.queued) : '\\u2013';
  $('connect').textContent = live ? 'Disconnect' : 'Connect';
  $('room').disabled = live;
  $('text').disabled = $('send').disabled = !live;
}

async function start(room) {
  try {
    lib = lib || (await import('./__stateroom/client/index.js'));
  } catch (err) {
    add('err', 'could not load the client library (' + err.message + '); build it with npm run build');
    return;
  }
  const c = lib.connect(new URL('.', location.href).href, { room, token: sessionStorage.getItem(KEY) || undefined });
  client = c;
  seat = '\\u2013';
  sessionStorage.setItem(KEY, c.token);
  history.replaceState(null, '', '?room=' + encodeURIComponent(room));
  add('ev', 'connecting to ' + c.url);
  const mine = (fn) => (...args) => { if (c === client) { fn(...args); show(); } };
  c.on('open', mine(({ resumed, reconnected }) => {
    seat = resumed ? 'resumed' : 'new seat';
    add('ev', !reconnected ? 'connected: new seat'
      : resumed ? 'reconnected: seat resumed, missed messages follow'
      : 'reconnected: new seat (the service saw this client leave and join again)');
  }));
  c.on('message', mine((d) => add('in', typeof d === 'string' ? d : bytes(d))));
  c.on('close', mine((code, reason, again) => {
    add(again || code === 1000 ? 'ev' : 'err', 'closed ' + code + (CODES[code] ? ' (' + CODES[code] + ')' : '')
      + (reason ? ': ' + reason : '') + (again ? '; will reconnect' : ''));
  }));
  c.on('reconnecting', mine((n, ms) => add('ev', 'reconnecting: attempt ' + n + ' in ' + ms + ' ms')));
  c.on('error', mine((err) => add('err', err.message)));
  c.on('drop', mine(() => add('err', 'queue full: the oldest unsent message was dropped')));
  show();
  $('text').focus();
}

$('join').addEventListener('submit', (e) => {
  e.preventDefault();
  if (client && client.state !== 'closed') client.close();
  else start($('room').value || '1');
  show();
});
$('say').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('text');
  if (!client || input.value === '') return;
  try {
    add('out', client.send(input.value) ? input.value : input.value + '  (queued until reconnected)');
    input.value = '';
  } catch (err) {
    add('err', err.message);
  }
  show();
});
$('room').value = new URLSearchParams(location.search).get('room') || '1';
// A link to a room (?room=…) connects at once; the bare console waits for the button.
if (new URLSearchParams(location.search).has('room')) start($('room').value);
show();
`;

/** The whole page. */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stateroom console</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header><h1>stateroom console</h1><span id="state">not connected</span></header>
<form id="join">
  <input id="room" aria-label="room id" placeholder="room id" autocomplete="off" autocapitalize="off" spellcheck="false" autofocus>
  <button id="connect">Connect</button>
</form>
<dl>
  <dt>room</dt><dd id="url"></dd>
  <dt>token</dt><dd id="token"></dd>
  <dt>seat</dt><dd id="seat"></dd>
  <dt>received</dt><dd id="received"></dd>
  <dt>queued</dt><dd id="queued"></dd>
</dl>
<ol id="log" aria-live="polite"></ol>
<form id="say">
  <input id="text" aria-label="message" placeholder="message (Enter sends)" autocomplete="off" enterkeyhint="send">
  <button id="send">Send</button>
</form>
<script type="module">${SCRIPT}</script>
</body>
</html>
`;
