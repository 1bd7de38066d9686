#!/usr/bin/env node
/**
 * The `stateroom` command. Errors the user can act on (a missing file, a port in use, a
 * bad flag) print one line and exit 1, never a stack trace.
 * @module
 */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { StateroomError } from '../errors.js';
import { addBuildCommand } from './build.js';
import { addDevCommand } from './dev.js';
import { addRoomsCommand } from './rooms.js';
import { addServeCommand } from './serve.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('stateroom')
  .description('Lightweight, single-threaded, room-based services over WebSockets.')
  .version(version)
  .showHelpAfterError('(run with --help for usage)');
addServeCommand(program);
addBuildCommand(program);
addDevCommand(program);
addRoomsCommand(program);

program.parseAsync().catch((err: unknown) => {
  if (err instanceof StateroomError) {
    process.stderr.write(`stateroom: ${err.message} [${err.code}]\n`);
  } else {
    process.stderr.write(`stateroom: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
