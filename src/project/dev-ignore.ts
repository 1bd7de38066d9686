/**
 * What `stateroom dev` never rebuilds for: a change there is not a change to the service.
 * @module
 */
import path from 'node:path';
import { CONFIG_FILE, type ProjectConfig } from './config.js';

/** Where `dev` saves rooms when nothing says otherwise, inside the service folder. */
export const DEFAULT_STATE_DIR = '.stateroom';

/** Build output (cargo's target/ too), dependencies and saved rooms, wherever they are in the folder. */
const IGNORED = new Set(['node_modules', 'dist', 'target', 'client-pkg', DEFAULT_STATE_DIR]);

/** Files editors write beside the one being edited: vim's swap and probe files, emacs's locks and backups, `*.tmp`. */
const EDITOR_TEMP = /(^\.#)|(^#.*#$)|(~$)|(\.sw[a-p]$)|(^4913$)|(\.tmp$)/;

/**
 * Whether a change to `file` is ignored: build output and dependencies, dot-folders and
 * dot-files (`.git/`, `.env`), editor temporary files, the state directory (a save is not a
 * change to the service), the static files (served from disk as they are) and the `ignore`
 * globs of stateroom.toml.
 */
export function ignoredBy(config: Pick<ProjectConfig, 'root' | 'staticFiles' | 'ignore'>, stateDir: string | undefined): (file: string) => boolean {
  const globs = config.ignore.map(globToRegExp);
  return (file) => {
    const relative = path.relative(config.root, file);
    if (relative === '' || relative.startsWith('..')) return false;
    const parts = relative.split(path.sep);
    if (parts.some((part) => IGNORED.has(part) || (part.startsWith('.') && part !== CONFIG_FILE))) return true;
    if (EDITOR_TEMP.test(parts.at(-1) ?? '')) return true;
    if (stateDir !== undefined && isWithin(file, stateDir)) return true;
    if (config.staticFiles !== undefined && isWithin(file, config.staticFiles)) return true;
    return globs.some((glob) => glob.test(parts.join('/')));
  };
}

/**
 * A glob as a regular expression: `**` any path, `*` any part of a name, `?` one character; a
 * glob without a slash matches a name in any folder (as .gitignore does). Node 20's
 * `path.matchesGlob` would print that it is experimental on every `dev`.
 */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('/')
    .map((part) => (part === '**' ? '(?:.*)' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
    .join('/')
    .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
  return new RegExp(glob.includes('/') ? `^${body}$` : `(?:^|/)${body}$`);
}

function isWithin(file: string, dir: string): boolean {
  return file === dir || file.startsWith(dir + path.sep);
}
