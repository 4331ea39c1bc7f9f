/**
 * A tiny entry that runs `koa-mtls doctor` from source, so tests can check the exit code of a real process without
 * a build: `node --import tsx test/posture/doctor-entry.ts [doctor options]`.
 */
import { runDoctor } from '../../src/cli/doctor.js';

process.exitCode = await runDoctor(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
  env: process.env,
});
