// The far side of the crossing floor (stateroom-crossing.mjs, and bench/crossing-cost.mjs): a
// thread that answers each batch the moment it sees it — no guest, no records, only the two
// wake-ups a crossing needs.
// cells[0] is the newest batch asked for, cells[1] the newest answered.
import { workerData } from 'node:worker_threads';

const cells = new Int32Array(workerData);
let seen = 0;
for (;;) {
  Atomics.wait(cells, 0, seen);
  seen = Atomics.load(cells, 0);
  Atomics.store(cells, 1, seen);
  Atomics.notify(cells, 1);
}
