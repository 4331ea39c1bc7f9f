/**
 * Bundles a TypeScript entry point of this repository into one ESM file that plain `node` runs with no loader and no
 * `node_modules` beside it: for valgrind (bench/harness/instructions.ts) and for other UIDs that cannot reach the
 * checkout (test/posture/kernel.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repository = fileURLToPath(new URL('..', import.meta.url));

/** Writes the bundle of `entry` (relative to the repository) to `outfile`. */
export function bundleForNode(entry: string, outfile: string): void {
  execFileSync(
    join(repository, 'node_modules/.bin/esbuild'),
    [
      join(repository, entry),
      '--bundle',
      '--platform=node',
      '--format=esm',
      // CommonJS dependencies (Koa) call require() inside an ESM bundle.
      "--banner:js=import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      `--outfile=${outfile}`,
      '--log-level=warning',
    ],
    { stdio: 'inherit' },
  );
}
