/**
 * `koa-mtls <command>`: dispatch to one command. Each command parses its own flags strictly and returns its exit code.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCerts } from './certs.js';
import { type CommandIo, exitCodes, UsageError } from './command-io.js';
import { runDoctor } from './doctor.js';
import { runExplain } from './explain.js';
import { runProbeCommand } from './probe.js';
import { runRoutes } from './routes.js';

type Command = (argv: readonly string[], io: CommandIo) => Promise<number>;

const commands: Readonly<Record<string, { readonly run: Command; readonly summary: string }>> = Object.freeze({
  certs: { run: runCerts, summary: 'make a development PKI (init, server, client, revoke)' },
  doctor: { run: runDoctor, summary: 'audit the container this process runs in (posture report)' },
  explain: { run: runExplain, summary: 'would a certificate pass a policy, and why (offline)' },
  probe: { run: runProbeCommand, summary: 'scan a running mTLS service for routes that reach host files' },
  routes: { run: runRoutes, summary: 'list routes with the identity policy and sandbox guarding each one' },
});

function usage(): string {
  const lines = Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(8)} ${summary}`);
  return `Usage: koa-mtls <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "koa-mtls <command> --help" for a command's options; "koa-mtls --version" prints the version.\n`;
}

/** This package's version, from the nearest `package.json` named koa-mtls above this file (src/cli or dist). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth += 1, dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'koa-mtls' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no package.json at this level: look one level up
    }
  }
  return 'unknown';
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout(`${packageVersion()}\n`);
    return exitCodes.ok;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    io.stderr(`koa-mtls: unknown command "${name}" (try --help)\n`);
    return exitCodes.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`koa-mtls ${name}: ${error.message}\n`);
      return exitCodes.usage;
    }
    throw error;
  }
}
