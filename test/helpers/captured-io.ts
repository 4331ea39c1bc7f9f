/** CLI commands run in-process with their output captured: the `CommandIo` they print to, and a runner. */
import type { CommandIo } from '../../src/cli/command-io.js';
import { main } from '../../src/cli/main.js';
import { repository } from './built-package.js';

/** How a captured command sees its terminal and environment (default: a pipe, an empty environment). */
export interface TerminalOptions {
  readonly isTTY?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

/** A {@link CommandIo} that records what a command prints. */
export function capturedIo(
  cwd: string,
  { isTTY = false, env = {} }: TerminalOptions = {},
): CommandIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    isTTY,
    env,
    cwd,
    out: () => out,
    err: () => err,
  };
}

/** What one in-process CLI run returned and printed. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runCli}: the terminal, the working directory (default the repository), the command. */
export interface CliRunOptions extends TerminalOptions {
  readonly cwd?: string;
  /** The command function to run; default `main` (argv starts with the command name, as on the command line). */
  readonly command?: (argv: readonly string[], io: CommandIo) => Promise<number>;
}

/** Runs the CLI in-process with {@link capturedIo} and returns its exit code and output. */
export async function runCli(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  const io = capturedIo(options.cwd ?? repository, options);
  const code = await (options.command ?? main)(argv, io);
  return { code, stdout: io.out(), stderr: io.err() };
}
