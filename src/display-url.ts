/**
 * The address a server is reached at, as its "listening" line shows it.
 * @module
 */

/** `http://<host>:<port>`, with `localhost` for a wildcard host: what a user can open. */
export function displayUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}
