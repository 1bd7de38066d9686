/**
 * Waiting for work, with a deadline: what a shutdown does with a step that may never end.
 * @module
 */

/**
 * Whether `work` settles within `ms` (true) or is still under way then (false); rejects as
 * `work` does. The deadline's timer never outlives the answer.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  try {
    return (await Promise.race([work, late])) !== 'late';
  } finally {
    clearTimeout(timer);
  }
}
