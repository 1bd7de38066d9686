/**
 * Text cut to a length for a log line or a terminal, saying how much was left out: what a
 * client or a guest chose (an error's message, a printed line, a room id) must not make a
 * line as long as it likes.
 * @module
 */

/** `text` if it has at most `max` characters; else its first `max`, then `… (N more characters)`. */
export function clipped(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}
