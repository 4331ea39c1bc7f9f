import { type ParseArgsConfig, parseArgs } from 'node:util';

/** What a CLI command may touch of its process: injected, so tests run commands in-process. */
export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly isTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** Exit codes shared by every command. */
export const exitCodes = Object.freeze({ ok: 0, findings: 1, usage: 2 });

/** A user mistake on the command line: printed as one line, exit code 2, nothing written. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The one argument prologue of every command: Node's `parseArgs` in strict mode (an unknown flag, a missing value
 * or, unless `allowPositionals`, a positional is refused), its refusal turned into a {@link UsageError} with the
 * first line of Node's message.
 */
export function parseCommandArgs<T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T & { strict: true }>> {
  try {
    return parseArgs({ ...config, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? (error.message.split('\n')[0] ?? 'invalid arguments') : 'invalid');
  }
}
