// stateroom with `--workers N` (argv[2], default 2; 1: one process): the CLI itself, as a user
// runs it, so the primary and its forked workers are exactly what `stateroom serve --workers N`
// starts. A launcher (bench/targets.ts): the driver reads CPU and RSS from the CLI process and
// its tree, not from this one. Prints {"port":N} once the CLI listens. Needs `npm run build`.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const workers = process.argv[2] ?? '2';
const root = fileURLToPath(new URL('../..', import.meta.url));
const args = ['serve', 'bench/servers/broadcast.ts', '--host', '127.0.0.1', '--port', '0', '--workers', workers];
// Info level for the "listening" line only: after it, the primary logs nothing per message.
const child = spawn(process.execPath, ['dist/cli/main.js', ...args, '--log-level', 'info'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let announced = false;
createInterface({ input: child.stdout }).on('line', (line) => {
  const port = /"port":(\d+)/.exec(line)?.[1];
  if (announced || port === undefined) return;
  announced = true;
  console.log(JSON.stringify({ port: Number(port) }));
});
child.on('exit', (code) => process.exit(code ?? 1));
process.on('SIGTERM', () => child.kill('SIGTERM'));
