import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repository = fileURLToPath(new URL('../..', import.meta.url));

/** The built executable, as `npx koa-mtls` runs it. `npm test` builds before it tests. */
export const builtCli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Fails with the fix when the package has not been built (these tests exercise what users install). */
export function requireBuild(): void {
  if (!existsSync(builtCli)) throw new Error(`${builtCli} is missing: run "npm run build" first (npm test does)`);
}
