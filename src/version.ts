/**
 * The package's version, as `/status` reports it.
 * @module
 */
import { createRequire } from 'node:module';

/** stateroom's version, from its package.json. */
export const { version: VERSION } = createRequire(import.meta.url)('../package.json') as { version: string };
