/**
 * Runs the external programs of the integration tests (`curl`, `openssl`, `testssl`, `sslscan`) with a hard timeout,
 * never through a shell.
 */
import { execFile } from 'node:child_process';

/** What one run of a program produced. `code` is the exit status, or -1 when it was killed by the timeout. */
export interface ProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runProgram}. */
export interface RunOptions {
  /** Written to the program's standard input, which is then closed. Default: nothing. */
  readonly input?: string;
  /** Environment variables added to the test process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the program after this many milliseconds. Default 10 000. */
  readonly timeoutMs?: number;
}

/** Runs `command` with `args` and resolves with its exit status and output; never rejects. */
export function runProgram(command: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  return new Promise((done) => {
    const child = execFile(
      command,
      args,
      {
        encoding: 'utf8',
        timeout: options.timeoutMs ?? 10_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, ...options.env },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : error.killed ? -1 : typeof error.code === 'number' ? error.code : 1;
        done({ code, stdout, stderr });
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}
