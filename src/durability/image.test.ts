// An image encoded in pieces on the writer thread (encodeImageSync) is the image encodeImage makes
// — it decodes to the same room — and the digest of its pieces is the digest of the joined bytes,
// which is what lets an unchanged room skip its write whichever path saved it last.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { decodeImage, encodeImage, encodeImageSync, imagePartsDigest, joinImage, savedRoomDigest, type RoomImage } from './image.js';

const bodies: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  zeros: new Uint8Array(256 * 1024),
  text: new TextEncoder().encode('counter 41 '.repeat(500)),
  // Larger than brotli's default window (the encoder's window grows with the body up to it).
  large: new TextEncoder().encode('a heap of 5 MiB '.repeat(5 * 65536)),
  // Random bytes do not compress: stored as they are.
  random: randomBytes(4096),
};

for (const [name, body] of Object.entries(bodies)) {
  for (const compression of ['brotli', 'deflate'] as const) {
    test(`a ${name} body (${compression}): pieces joined decode to the image, and their digest is the joined bytes' digest`, async () => {
      const image: RoomImage = { roomId: `room-${name}`, kind: 'wasm', moduleHash: 'ab'.repeat(32), savedAt: 1_700_000_000_000, timerDueAt: 1_700_000_005_000, body };
      const parts = encodeImageSync(image, { compression });
      const joined = joinImage(parts);
      assert.equal(imagePartsDigest(parts), savedRoomDigest(joined));
      const back = await decodeImage(joined, 'test');
      assert.deepEqual({ ...back, body: Buffer.from(back.body) }, { ...image, body: Buffer.from(body) });
      // The async path makes an image of the same saved room (savedAt aside, nothing differs).
      assert.equal(savedRoomDigest(await encodeImage({ ...image, savedAt: image.savedAt + 1 }, { compression })), savedRoomDigest(joined));
    });
  }
}
