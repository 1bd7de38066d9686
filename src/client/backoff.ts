/**
 * How long to wait before each reconnect attempt.
 * @module
 */

/**
 * The delay before reconnect attempt `attempt` (1 for the first): a random point between
 * `min` and a ceiling that doubles with every attempt (`min * 2^attempt`), capped at `max`.
 *
 * Why random: clients dropped together (a server restart drops them all at once) would
 * otherwise come back together, and keep doing so on every later attempt; spreading each
 * attempt over the whole window spreads the load. Why a floor: a delay of 0 would spin on a
 * server that refuses at once.
 *
 * @param random - A source of numbers in [0, 1); tests pass a fixed one.
 * @returns Whole milliseconds, always within [min, max].
 */
export function backoffDelay(attempt: number, min: number, max: number, random: () => number = Math.random): number {
  const ceiling = Math.min(max, min * 2 ** attempt);
  return Math.min(max, Math.round(min + random() * (ceiling - min)));
}
