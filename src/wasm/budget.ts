/**
 * How many WebAssembly instances, and how much guest memory, one process takes on before it
 * refuses new rooms (HTTP 503) — so that a churn of rooms is refused at the door instead of
 * starving the rooms already running. See docs/wasm.md, "Budgets".
 * @module
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

/**
 * Address space V8 reserves for each WebAssembly memory on 64-bit machines: the 4 GiB a
 * 32-bit index can reach plus guard regions, so bounds checks cost nothing — about 10 GiB,
 * whatever the memory's real size.
 */
export const RESERVATION_PER_MEMORY_BYTES = 10 * 2 ** 30;
/** User address space of a 64-bit Linux process with 4-level page tables (x64: 47 bits). */
const USER_ADDRESS_SPACE_BYTES = 2 ** 47;
/** The share of the address space (and of memory) WebAssembly may take: the rest is the process's own. */
const SHARE = 0.5;

/** The address space this process may map: its `ulimit -v` if set, else the 47-bit user space. */
export function addressSpaceBytes(): number {
  try {
    const line = /^Max address space\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    const soft = line?.[1];
    if (soft !== undefined && soft !== 'unlimited' && Number.isFinite(Number(soft))) return Number(soft);
  } catch {
    // Not Linux: no /proc.
  }
  return USER_ADDRESS_SPACE_BYTES;
}

/**
 * Instances one process may hold by default: half of what its address space has room for
 * (6,553 on a 64-bit Linux without `ulimit -v`). A process ran out near 12,800, and new
 * instances stalled for up to 2 s well before that, while V8 collected garbage to find room.
 */
export function defaultMaxInstances(): number {
  return Math.max(1, Math.floor((SHARE * addressSpaceBytes()) / RESERVATION_PER_MEMORY_BYTES));
}

/**
 * Guest memory all of one process's instances may hold by default: half of the machine's
 * memory, or of the container's limit when there is one.
 */
export function defaultMemoryBudgetBytes(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const available = constrained > 0 && constrained < totalmem() ? constrained : totalmem();
  return Math.floor(SHARE * available);
}

/** What a budget is checked against: the instances and memory held now. */
export interface BudgetUse {
  readonly instances: number;
  readonly memoryBytes: number;
}

/** Why a new room cannot start within the budget, or `undefined` if it can. */
export function budgetRefusal(use: BudgetUse, maxInstances: number, memoryBudgetBytes: number): string | undefined {
  if (maxInstances > 0 && use.instances >= maxInstances) {
    return `the server holds its limit of ${maxInstances} WebAssembly instances; try again later`;
  }
  if (memoryBudgetBytes > 0 && use.memoryBytes >= memoryBudgetBytes) {
    return `WebAssembly rooms hold the server's memory budget of ${Math.floor(memoryBudgetBytes / 2 ** 20)} MiB; try again later`;
  }
  return undefined;
}
