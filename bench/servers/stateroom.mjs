// stateroom, native TS service, the way `stateroom serve bench/servers/broadcast.ts` runs it
// (the same loader, the same serve()), but quiet: the CLI prints its port only at info
// level, and logging every connection would bill pino's work to the server's CPU.
// Prints {"port":N} once listening. Needs `npm run build`.
import { serve } from '../../dist/index.js';
import { loadService } from '../../dist/project/load-service.js';

const { service } = await loadService(new URL('./broadcast.ts', import.meta.url).pathname);
const server = await serve(service, { port: 0, host: '127.0.0.1', logLevel: 'warn' });
console.log(JSON.stringify({ port: server.port }));
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
