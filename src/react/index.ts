/**
 * `stateroom/react`: React hooks over `stateroom/client`. `react` is an optional peer
 * dependency of stateroom: only applications that import this entry need it.
 * @module
 */
export { useJsonRoom, useRoom, type JsonRoom, type JsonRoomOptions, type Room, type RoomOptions } from './use-room.js';
