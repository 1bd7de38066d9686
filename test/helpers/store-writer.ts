// A process that puts large images of one room into a DirectoryStore for ever, saying on stdout
// when each put starts ("writing n"), when its temporary file appears ("mid-write n": the write
// is under way on libuv's pool meanwhile) and when it ends ("wrote n"):
// test/durability-store.test.ts kills it with SIGKILL mid-write. Usage: node --import tsx test/helpers/store-writer.ts <dir> <roomId> <bodyBytes>
import { randomFillSync } from 'node:crypto';
import { watch } from 'node:fs';
import { DirectoryStore } from '../../src/durability/dir-store.js';
import { encodeImage } from '../../src/durability/image.js';

const [dir = '', roomId = '', size = '0'] = process.argv.slice(2);
const store = await DirectoryStore.open(dir);
// Encoded once up front, random so they do not compress: the loop's time is all in the writes.
const images = await Promise.all(
  [0, 1].map((i) => {
    const body = randomFillSync(new Uint8Array(Number(size)));
    return encodeImage({ roomId, kind: 'native', moduleHash: '', savedAt: Date.now() + i, timerDueAt: undefined, body });
  }),
);
let n = 0;
let announced = 0;
watch(dir, (_event, name) => {
  if (name?.includes('.tmp-') && announced < n) process.stdout.write(`mid-write ${(announced = n)}\n`);
});
for (n = 1; ; n++) {
  process.stdout.write(`writing ${n}\n`);
  await store.put(roomId, images[n % 2]!);
  process.stdout.write(`wrote ${n}\n`);
}
