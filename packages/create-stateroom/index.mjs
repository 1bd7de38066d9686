#!/usr/bin/env node
// create-stateroom: writes a new stateroom project into a new (or empty) folder.
//
//   npm create stateroom@latest my-app [-- --template assemblyscript]
//   node packages/create-stateroom/index.mjs my-app [--template as]   (from a clone)
//
// No dependencies: the templates are the strings below, one object of files per template.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const SELF = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
/** stateroom and create-stateroom are released together, with the same version. */
const STATEROOM_RANGE = `^${SELF.version}`;
const ASSEMBLYSCRIPT_RANGE = '^0.28.20';

const USAGE = `Usage: npm create stateroom@latest <folder> [-- --template native|assemblyscript]
       node index.mjs <folder> [--template native|assemblyscript]

Writes a stateroom project into <folder> (new, or empty).
  -t, --template <name>   native (default): a TypeScript room service, no build step
                          assemblyscript (or as): a WebAssembly room service built with asc
  -h, --help              this text`;

// ---- the files both templates share ------------------------------------------------------

const GITIGNORE = `node_modules/
dist/
.stateroom/
.stateroom-*.mjs
`;

const INDEX_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>stateroom</title>
    <link rel="stylesheet" href="style.css">
  </head>
  <body>
    <h1>Room <span id="room"></span> <small id="status">connecting</small></h1>
    __BODY__
    <!-- The server serves the client library at /__stateroom/client.js: no bundler needed. -->
    <script type="module" src="app.js"></script>
  </body>
</html>
`;

const STYLE_CSS = `body { font: 16px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
#status { color: #888; font-weight: normal; }
#people li.me { font-weight: bold; }
#log { min-height: 8rem; border: 1px solid #ddd; padding: 0.5rem 2rem; }
form { display: flex; gap: 0.5rem; margin: 0.5rem 0; }
input[type=text] { flex: 1; }
`;

// ---- native: a TypeScript service --------------------------------------------------------

const NATIVE_SERVICE = `// The room service: one instance per room, created when its first client joins. The server
// calls one callback at a time. Every message is JSON: a page sends FromPage, the room sends
// FromRoom. The room keeps who is in it (presence) and the last chat lines; snapshot() and
// restore() keep the chat across restarts and reloads (npm run dev saves rooms in .stateroom/).
import type { ClientId, Context, Payload, Service } from 'stateroom';

export interface Person {
  id: ClientId;
  name: string;
}

export interface ChatLine {
  from: string;
  text: string;
  at: number;
}

/** What a page sends. */
export type FromPage = { type: 'name'; name: string } | { type: 'chat'; text: string } | { type: 'leave' };

/** What the room sends. */
export type FromRoom =
  | { type: 'welcome'; you: ClientId; history: ChatLine[] }
  | { type: 'presence'; people: Person[] }
  | { type: 'chat'; line: ChatLine }
  | { type: 'error'; message: string };

const HISTORY = 50;
const MAX_NAME = 32;
const MAX_TEXT = 500;

export default class Room implements Service {
  private readonly people = new Map<ClientId, string>();
  private history: ChatLine[] = [];

  connect(client: ClientId, ctx: Context): void {
    this.people.set(client, 'guest ' + client);
    send(ctx, client, { type: 'welcome', you: client, history: this.history });
    this.sendPresence(ctx);
  }

  disconnect(client: ClientId, ctx: Context): void {
    this.people.delete(client);
    this.sendPresence(ctx);
  }

  message(client: ClientId, payload: Payload, ctx: Context): void {
    const message = parse(payload);
    if (message === undefined) {
      send(ctx, client, { type: 'error', message: 'expected {"type":"name","name":"…"}, {"type":"chat","text":"…"} or {"type":"leave"}' });
    } else if (message.type === 'name') {
      this.people.set(client, message.name);
      this.sendPresence(ctx);
    } else if (message.type === 'leave') {
      ctx.close(client); // its disconnect() follows at once, and tells the others
    } else {
      const line: ChatLine = { from: this.people.get(client) ?? 'guest ' + client, text: message.text, at: Date.now() };
      this.history = [...this.history, line].slice(-HISTORY);
      send(ctx, 'broadcast', { type: 'chat', line });
    }
  }

  /** What the room saves: the chat. Who is here is not saved: clients join again after a restart. */
  snapshot(): string {
    return JSON.stringify(this.history);
  }

  restore(data: Payload): void {
    if (typeof data === 'string') this.history = JSON.parse(data) as ChatLine[];
  }

  private sendPresence(ctx: Context): void {
    const people = [...this.people].map(([id, name]) => ({ id, name }));
    send(ctx, 'broadcast', { type: 'presence', people });
  }
}

function send(ctx: Context, to: ClientId | 'broadcast', message: FromRoom): void {
  ctx.sendMessage(to, JSON.stringify(message));
}

/** A FromPage, or undefined when the payload is not one (not JSON, a wrong type, empty or too long). */
function parse(payload: Payload): FromPage | undefined {
  if (typeof payload !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { type, name, text } = value as Record<string, unknown>;
  if (type === 'name' && typeof name === 'string' && name.trim() !== '' && name.length <= MAX_NAME) return { type, name: name.trim() };
  if (type === 'chat' && typeof text === 'string' && text.trim() !== '' && text.length <= MAX_TEXT) return { type, text: text.trim() };
  if (type === 'leave') return { type };
  return undefined;
}
`;

const NATIVE_BODY = `<h2>Here now</h2>
    <ul id="people"></ul>
    <form id="name-form">
      <input type="text" id="name" placeholder="your name" maxlength="32" autocomplete="off">
      <button>Set name</button>
    </form>
    <h2>Chat</h2>
    <ol id="log"></ol>
    <form id="chat-form">
      <input type="text" id="text" placeholder="say something" maxlength="500" autocomplete="off">
      <button>Send</button>
    </form>`;

const NATIVE_APP = `// The page: joins the room named by ?room= (default "lobby") and shows who is here and the chat.
// connect() reconnects by itself, and queues what is sent while it is away.
import { connect } from '/__stateroom/client.js';

const room = new URLSearchParams(location.search).get('room') || 'lobby';
const client = connect('/', { room });
let me = 0;

const $ = (id) => document.getElementById(id);
$('room').textContent = room;

client.on('open', () => ($('status').textContent = 'connected'));
client.on('close', (_code, _reason, willReconnect) => ($('status').textContent = willReconnect ? 'reconnecting' : 'closed'));

client.on('message', (data) => {
  const message = JSON.parse(data);
  if (message.type === 'welcome') {
    me = message.you;
    $('log').replaceChildren(...message.history.map(chatLine));
  } else if (message.type === 'presence') {
    $('people').replaceChildren(
      ...message.people.map((person) => {
        const li = document.createElement('li');
        li.textContent = person.name;
        if (person.id === me) li.className = 'me';
        return li;
      }),
    );
  } else if (message.type === 'chat') {
    $('log').append(chatLine(message.line));
  } else if (message.type === 'error') {
    console.warn('the room says:', message.message);
  }
});

function chatLine(line) {
  const li = document.createElement('li');
  li.textContent = line.from + ': ' + line.text;
  return li;
}

function onSubmit(formId, inputId, toMessage) {
  $(formId).addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $(inputId).value.trim();
    if (value === '') return;
    client.send(JSON.stringify(toMessage(value)));
    if (inputId === 'text') $(inputId).value = '';
  });
}
onSubmit('name-form', 'name', (name) => ({ type: 'name', name }));
onSubmit('chat-form', 'text', (text) => ({ type: 'chat', text }));

// Leaving the page says so: the room closes this client at once. (A connection that just drops
// keeps its seat for a while, 10 s by default, in case it comes back and resumes.)
addEventListener('pagehide', () => {
  client.send(JSON.stringify({ type: 'leave' }));
  client.close();
});
`;

const NATIVE_TSCONFIG = `{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "noImplicitOverride": true,
    "verbatimModuleSyntax": true,
    "isolatedModules": true,
    "skipLibCheck": true,
    "noEmit": true
  },
  "include": ["service.ts"]
}
`;

const NATIVE_TOML = `# Read by stateroom dev and build (see stateroom's docs/cli.md).
static_files = "static"          # served at /

[service]
entry = "service.ts"             # a native TypeScript service: no build step
`;

// ---- assemblyscript: a WebAssembly service -----------------------------------------------

const AS_SERVICE = `// The room service, in AssemblyScript: compiled to WebAssembly (npm run build writes
// dist/server.wasm; npm run dev builds it and rebuilds on every change). One instance runs per
// room. The room counts who is here (presence) and shares one counter; every message it sends
// is JSON. A WebAssembly room is saved and restored whole (memory and globals) by the server:
// it needs no snapshot code.
import { ClientId, Context, Payload, Recipient, Service, register } from "stateroom/assembly";

class Room extends Service {
  private here: i32 = 0;
  private count: i64 = 0;

  connect(client: ClientId, ctx: Context): void {
    this.here += 1;
    ctx.sendMessage(Recipient.client(client), '{"type":"welcome","you":' + client.toString() + "}");
    this.sendState(ctx);
  }

  disconnect(_client: ClientId, ctx: Context): void {
    this.here -= 1;
    this.sendState(ctx);
  }

  // A page sends "increment" or "decrement"; anything else is ignored.
  message(_client: ClientId, payload: Payload, ctx: Context): void {
    if (!payload.isText) return;
    if (payload.text == "increment") this.count += 1;
    else if (payload.text == "decrement") this.count -= 1;
    else return;
    this.sendState(ctx);
  }

  private sendState(ctx: Context): void {
    const json = '{"type":"state","here":' + this.here.toString() + ',"count":' + this.count.toString() + "}";
    ctx.sendMessage(Recipient.broadcast(), json);
  }
}

register(() => new Room());
`;

const AS_TSCONFIG = `{
  "extends": "assemblyscript/std/assembly.json",
  "include": ["./**/*.ts"]
}
`;

const AS_BODY = `<p><span id="here">0</span> here now. The count is <strong id="count">0</strong>.</p>
    <button id="decrement">−1</button>
    <button id="increment">+1</button>`;

const AS_APP = `// The page: joins the room named by ?room= (default "lobby"), shows how many are here and the
// room's count, and sends "increment" / "decrement".
import { connect } from '/__stateroom/client.js';

const room = new URLSearchParams(location.search).get('room') || 'lobby';
const client = connect('/', { room });

const $ = (id) => document.getElementById(id);
$('room').textContent = room;

client.on('open', () => ($('status').textContent = 'connected'));
client.on('close', (_code, _reason, willReconnect) => ($('status').textContent = willReconnect ? 'reconnecting' : 'closed'));

client.on('message', (data) => {
  const message = JSON.parse(data);
  if (message.type === 'state') {
    $('here').textContent = String(message.here);
    $('count').textContent = String(message.count);
  }
});

$('increment').addEventListener('click', () => client.send('increment'));
$('decrement').addEventListener('click', () => client.send('decrement'));
`;

const AS_TOML = `# Read by stateroom dev and build (see stateroom's docs/cli.md).
static_files = "static"          # served at / by dev, copied to dist/static/ by build

[service]
entry = "assembly/index.ts"      # AssemblyScript, built to dist/server.wasm
`;

// ---- the project -------------------------------------------------------------------------

function readme(name, template) {
  const native = template === 'native';
  const files = native
    ? [
        ['service.ts', 'the room service: presence (who is here) and a chat, JSON messages; snapshot()/restore() keep the chat across restarts'],
        ['static/index.html', 'the page'],
        ['static/app.js', "the page's script: connect() from /__stateroom/client.js, which the server serves"],
        ['static/style.css', 'a little style'],
        ['stateroom.toml', 'tells stateroom dev where the service and the static files are'],
        ['tsconfig.json', 'strict TypeScript settings for your editor (and npx tsc, if you add typescript)'],
      ]
    : [
        ['assembly/index.ts', 'the room service in AssemblyScript: how many are here, and a shared count; JSON messages'],
        ['assembly/tsconfig.json', "AssemblyScript's types for your editor"],
        ['static/index.html', 'the page'],
        ['static/app.js', "the page's script: connect() from /__stateroom/client.js, which the server serves"],
        ['static/style.css', 'a little style'],
        ['stateroom.toml', 'tells stateroom dev and build where the service and the static files are'],
      ];
  const start = native
    ? 'npm start          # serve service.ts and static/ on :8080, rooms saved in .stateroom/'
    : 'npm run build && npm start   # build dist/ (server.wasm + static/), serve it on :8080';
  return `# ${name}

A [stateroom](https://www.npmjs.com/package/stateroom) project: rooms that browsers join over
WebSockets, each run by its own instance of the service.

\`\`\`bash
npm install
npm run dev        # http://localhost:8080 — rebuilds and reloads on every change
${start}
\`\`\`

Open <http://localhost:8080> in two windows: each sees the other. \`?room=<name>\` picks another
room (the default is \`lobby\`).

| file | what |
|---|---|
${files.map(([file, what]) => `| \`${file}\` | ${what} |`).join('\n')}
| \`package.json\` | the scripts, and stateroom |
| \`.gitignore\` | node_modules/, dist/, .stateroom/ (the rooms \`npm run dev\` saves) and .stateroom-*.mjs (a service's bundle while it loads) |

\`npm run dev -- --port 3000\` passes flags to \`stateroom dev\`; \`npx stateroom --help\` lists
the commands.
`;
}

function packageJson(name, template) {
  const scripts =
    template === 'native'
      ? { dev: 'stateroom dev', start: 'stateroom serve service.ts --static static --state-dir .stateroom' }
      : { dev: 'stateroom dev', build: 'stateroom build', start: 'stateroom serve dist/ --state-dir .stateroom' };
  const manifest = {
    name,
    version: '0.0.0',
    private: true,
    type: 'module',
    scripts,
    dependencies: { stateroom: STATEROOM_RANGE },
    ...(template === 'assemblyscript' ? { devDependencies: { assemblyscript: ASSEMBLYSCRIPT_RANGE } } : {}),
  };
  return JSON.stringify(manifest, null, 2) + '\n';
}

/** Every file of the project, path → text. */
export function projectFiles(name, template) {
  const native = template === 'native';
  return {
    'package.json': packageJson(name, template),
    'README.md': readme(name, template),
    '.gitignore': GITIGNORE,
    'stateroom.toml': native ? NATIVE_TOML : AS_TOML,
    ...(native ? { 'service.ts': NATIVE_SERVICE, 'tsconfig.json': NATIVE_TSCONFIG } : { 'assembly/index.ts': AS_SERVICE, 'assembly/tsconfig.json': AS_TSCONFIG }),
    'static/index.html': INDEX_HTML.replace('__BODY__', native ? NATIVE_BODY : AS_BODY),
    'static/app.js': native ? NATIVE_APP : AS_APP,
    'static/style.css': STYLE_CSS,
  };
}

const TEMPLATES = { native: 'native', ts: 'native', typescript: 'native', assemblyscript: 'assemblyscript', as: 'assemblyscript' };

/** A package name npm accepts, from the folder's name. */
function packageName(folder) {
  const base = path.basename(path.resolve(folder)).toLowerCase().replace(/[^a-z0-9._~-]+/g, '-').replace(/^[._-]+/, '');
  return base === '' ? 'stateroom-app' : base;
}

function fail(message) {
  console.error(`create-stateroom: ${message}`);
  process.exit(1);
}

function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { template: { type: 'string', short: 't', default: 'native' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    fail(`${error.message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length !== 1) fail(positionals.length === 0 ? `name the folder to create, e.g. npm create stateroom@latest my-app\n${USAGE}` : `one folder, not ${positionals.length}: ${positionals.join(' ')}`);
  const template = TEMPLATES[values.template];
  if (template === undefined) fail(`unknown template "${values.template}": native or assemblyscript (as)`);

  const folder = positionals[0];
  const dir = path.resolve(folder);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) fail(`${folder} exists and is not a folder`);
    if (readdirSync(dir).length > 0) fail(`${folder} is not empty: choose a new folder, or empty this one`);
  }
  const name = packageName(folder);
  for (const [file, text] of Object.entries(projectFiles(name, template))) {
    const target = path.join(dir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text, { flag: 'wx' });
  }

  const cd = path.relative(process.cwd(), dir) || '.';
  const kind = template === 'native' ? 'a TypeScript room service' : 'an AssemblyScript (WebAssembly) room service';
  console.log(`Created ${name} in ${dir}: ${kind} and a page.

Next:
${cd === '.' ? '' : `  cd ${cd.includes(' ') ? JSON.stringify(cd) : cd}\n`}  npm install
  npm run dev

Then open http://localhost:8080 in two windows.`);
}

main(process.argv.slice(2));
