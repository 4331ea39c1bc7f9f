import { execFile } from 'node:child_process';
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

/** The result of a finished child process. */
export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`, which then shows as `signal`). Never rejects. */
export function runToEnd(
  file: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly timeoutMs: number; readonly env?: NodeJS.ProcessEnv },
): Promise<Finished> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { cwd: options.cwd, timeout: options.timeoutMs, killSignal: 'SIGKILL', env: options.env ?? process.env },
      (error, stdout, stderr) => {
        const failure = error as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}
