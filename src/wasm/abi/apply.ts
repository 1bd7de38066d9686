/**
 * What a guest's `stateroom_send` means for its room: the one place that turns a decoded
 * `MessageFromProcess` into context calls, for guests inline and on worker threads alike.
 * @module
 */
import type { Context } from '../../service/types.js';
import type { MessageFromProcess } from './codec.js';

/** Applies one thing the guest sent to its room's context. */
export function applyFromProcess(message: MessageFromProcess, ctx: Context): void {
  if (message.type === 'setTimer') {
    ctx.setTimer(message.msDelay);
    return;
  }
  const { recipient, payload } = message;
  // Id 0 names no client: a message to it is dropped, and "everyone except 0" is everyone.
  if (recipient === 0) return;
  if (typeof recipient === 'object' && recipient.except === 0) ctx.sendMessage('broadcast', payload);
  else ctx.sendMessage(recipient, payload);
}
