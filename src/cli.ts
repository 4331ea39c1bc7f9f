/**
 * The `koa-mtls` executable. All work happens in `./cli/main.ts`; this file only binds it to the process.
 */
import { main } from './cli/main.js';

const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
  env: process.env,
  cwd: process.cwd(),
});

// Exit explicitly once the output is flushed: a module loaded by `koa-mtls routes` may have started a server or a
// timer, and a CLI that waits for them never returns its exit code (a CI job would hang).
process.exitCode = code;
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
