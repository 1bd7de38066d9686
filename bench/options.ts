// The flags of `npm run bench -- …`. Unknown flags and names fail with the list of valid ones,
// so a typo cannot silently run (or skip) the wrong thing.
import { scenarios, type Scenario } from './scenarios.js';
import { BASELINE, TARGETS, type Target } from './targets.js';

export interface Options {
  readonly quick: boolean;
  readonly repetitions: number;
  readonly targets: readonly Target[];
  readonly scenarios: readonly Scenario[];
  /** Where the JSON and SVG go, relative to the current directory (bench/results by default). */
  readonly outDir: string;
  readonly help: boolean;
}

export class UsageError extends Error {}

export const USAGE = `Usage: npm run bench -- [options]

  --quick               1 repetition, few messages, few connections (checks the harness, not speed)
  --targets a,b         run only these targets (raw ws always runs: it is the baseline)
  --scenarios x,y       run only these scenarios
  --repetitions N       repetitions of each measurement (default 3, --quick 1)
  --out DIR             write the JSON and SVG there instead of bench/results
  --help                this text

targets:   ${TARGETS.map((t) => `${t.key}${t.key === t.name ? '' : ` ("${t.name}")`}`).join(', ')}
scenarios: ${scenarios(false).map((s) => s.name).join(', ')}`;

/** Picks the named entries (by key or by table name, any case) out of `all`, in `all`'s order. */
function pick<T extends { readonly name: string; readonly key?: string }>(what: string, list: string, all: readonly T[]): T[] {
  const names = list.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  const matches = (entry: T, name: string): boolean => entry.name.toLowerCase() === name || entry.key?.toLowerCase() === name;
  const unknown = names.filter((name) => !all.some((entry) => matches(entry, name)));
  if (names.length === 0 || unknown.length > 0) {
    const valid = all.map((entry) => entry.key ?? entry.name).join(', ');
    throw new UsageError(`unknown ${what}: ${unknown.join(', ') || '(none given)'}; valid ${what}: ${valid}`);
  }
  return all.filter((entry) => names.some((name) => matches(entry, name)));
}

/** `--flag value` and `--flag=value` alike: each flag with a function that takes its value. */
function* flags(argv: readonly string[]): Generator<[string, () => string]> {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    yield [flag, value];
  }
}

export function parseOptions(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  let repetitions = quick ? 1 : 3;
  let targets = TARGETS;
  let chosenScenarios = scenarios(quick);
  let outDir = 'bench/results';
  let help = false;
  for (const [flag, value] of flags(argv)) {
    if (flag === '--quick') continue;
    else if (flag === '--help' || flag === '-h') help = true;
    else if (flag === '--targets') targets = pick('targets', value(), TARGETS);
    else if (flag === '--scenarios') chosenScenarios = pick('scenarios', value(), scenarios(quick));
    else if (flag === '--out') outDir = value();
    else if (flag === '--repetitions') {
      const text = value();
      repetitions = Number(text);
      if (!Number.isInteger(repetitions) || repetitions < 1) throw new UsageError(`--repetitions needs a whole number ≥ 1, not ${text}`);
    } else throw new UsageError(`unknown option ${flag}\n\n${USAGE}`);
  }
  if (!targets.includes(BASELINE)) targets = [BASELINE, ...targets];
  return { quick, repetitions, targets, scenarios: chosenScenarios, outDir, help };
}
