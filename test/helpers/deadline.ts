/** Resolves as `promise` does, or rejects naming `what` once `ms` have passed. */
export function within<T>(promise: Promise<T>, what: string, ms = 3_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once `check` holds, re-checked every `everyMs` (for what has no event to wait on:
 * a count, a file, a metric), or rejects naming `what` once `ms` have passed.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 3_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
