/** Runs an external program or a child Node process to its end, with a hard timeout, never through a shell. */
import { execFile } from 'node:child_process';

/** What one run produced: `code` is the exit status, null when a signal ended it (`signal`, SIGKILL on timeout). */
export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runProgram}. */
export interface RunOptions {
  /** Written to the program's standard input, which is then closed. Default: nothing. */
  readonly input?: string;
  /** Environment variables added to the test process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default: the test process's working directory. */
  readonly cwd?: string;
  /** Kill the program (SIGKILL) after this many milliseconds. Default 10 000. */
  readonly timeoutMs?: number;
}

/** Runs `command` with `args` and resolves with its exit status and output; never rejects. */
export function runProgram(command: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  return new Promise((done) => {
    const child = execFile(
      command,
      [...args],
      {
        encoding: 'utf8',
        timeout: options.timeoutMs ?? 10_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, ...options.env },
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      },
      (error, stdout, stderr) => {
        const failure = error as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
        done({
          code: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}
