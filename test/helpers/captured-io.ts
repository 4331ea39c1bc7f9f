import type { CommandIo } from '../../src/cli/command-io.js';

/** A {@link CommandIo} that records what a command prints. */
export function capturedIo(cwd: string): CommandIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    isTTY: false,
    env: {},
    cwd,
    out: () => out,
    err: () => err,
  };
}
