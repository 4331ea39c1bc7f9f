/**
 * `koa-mtls <command>`: dispatch to one command. Each command parses its own flags strictly and returns its exit code.
 */
import { runCerts } from './certs.js';
import { type CommandIo, exitCodes, UsageError } from './command-io.js';
import { runDoctor } from './doctor.js';
import { runProbeCommand } from './probe.js';
import { runRoutes } from './routes.js';

type Command = (argv: readonly string[], io: CommandIo) => Promise<number>;

const commands: Readonly<Record<string, { readonly run: Command; readonly summary: string }>> = Object.freeze({
  certs: { run: runCerts, summary: 'make a development PKI (init, server, client, revoke)' },
  doctor: { run: runDoctor, summary: 'audit the container this process runs in (posture report)' },
  probe: { run: runProbeCommand, summary: 'scan a running mTLS service for routes that reach host files' },
  routes: { run: runRoutes, summary: 'list routes with the identity policy and sandbox guarding each one' },
});

function usage(): string {
  const lines = Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(8)} ${summary}`);
  return `Usage: koa-mtls <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "koa-mtls <command> --help" for a command's options.\n`;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name === undefined ? exitCodes.usage : exitCodes.ok;
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
