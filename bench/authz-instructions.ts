/**
 * Instructions per cold decision, by policy size, counted with callgrind (see harness/instructions.ts): the number
 * to read when the machine is too loaded for timings. Prints JSON.
 *
 * Run: npx tsx bench/authz-instructions.ts [--sizes 10,10000] [--families 0,1,2] [--iterations 2000,6000]
 */
import { bundle, callgrindAvailable, instructionsPerIteration } from './harness/instructions.js';
import { families } from './harness/policy-families.js';

function listArgument(name: string, fallback: readonly number[]): number[] {
  const index = process.argv.indexOf(name);
  const text = index === -1 ? undefined : process.argv[index + 1];
  return text === undefined ? [...fallback] : text.split(',').map(Number);
}

const sizes = listArgument('--sizes', [10, 10_000]);
const familyIndexes = listArgument('--families', [0, 1, 2, 3, 4]);
// More iterations dilute what JIT and GC decide differently between the two runs (±10k instructions at 2,000/6,000).
const [low = 2000, high = 6000] = listArgument('--iterations', [2000, 6000]);
if (!callgrindAvailable()) {
  console.log(JSON.stringify({ bench: 'authz-instructions', skipped: 'valgrind not installed' }));
} else {
  const entry = bundle('bench/authz-cold-entry.ts');
  try {
    const results = familyIndexes.flatMap((familyIndex) =>
      sizes.map((rules) => ({
        family: families[familyIndex]?.name,
        rules,
        instructionsPerDecision: Math.round(
          instructionsPerIteration(entry.file, [String(familyIndex), String(rules)], low, high),
        ),
      })),
    );
    console.log(JSON.stringify({ bench: 'authz-instructions', node: process.version, results }));
  } finally {
    entry.dispose();
  }
}
