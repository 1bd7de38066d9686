/**
 * How to start a worker thread on one of this package's modules, built or from source.
 * @module
 */

/**
 * The `Worker` entry for the module `file` next to `fromUrl` (an `import.meta.url`). Run from
 * source (tests, tsx) the entry is a .ts file, and Node 20 applies no loader hooks to a
 * worker's entry module: a one-line entry, evaluated, imports it through tsx instead.
 * @param file - The module's name without extension (`start-thread`).
 */
export function threadEntry(fromUrl: string, file: string): { readonly entry: string | URL; readonly eval: boolean } {
  if (!fromUrl.endsWith('.ts')) return { entry: new URL(`./${file}.js`, fromUrl), eval: false };
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const target = JSON.stringify(new URL(`./${file}.ts`, fromUrl).href);
  return { entry: `import(${tsx}).then((tsx) => tsx.tsImport(${target}, ${JSON.stringify(fromUrl)}))`, eval: true };
}
