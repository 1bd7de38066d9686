// `Atomics.waitAsync` (V8, Node 16+): declared here because the project's lib is ES2023 and
// the method arrived in ES2024's types. Only its Int32Array form is used.
interface Atomics {
  waitAsync(
    typedArray: Int32Array,
    index: number,
    value: number,
    timeout?: number,
  ): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
}
