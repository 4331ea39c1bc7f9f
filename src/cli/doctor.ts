/**
 * `koa-mtls doctor`: prints the container posture report as a table (or JSON) and exits non-zero when a check
 * reaches `--fail-on`.
 *
 * Exit codes: 0 nothing at or above the threshold, 1 findings (or unknown checks, unless `--ignore-unknown`) at or
 * above it, 2 usage error.
 *
 * @module cli/doctor
 */
import { resolve } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import { leastPrivilegeLaunchLine } from '../permission/launch-line.js';
import { auditContainer, failingChecks } from '../posture/audit-container.js';
import { formatReport } from '../posture/format-report.js';
import type { PostureThreshold } from '../posture/types.js';
import {
  type CertificateDirectoryReport,
  checkCertificateDirectory,
  formatCertificateDirectory,
  knownLayouts,
} from './certificate-directory.js';
import { type CommandIo, exitCodes, parseCommandArgs, UsageError } from './command-io.js';

const THRESHOLDS = ['critical', 'high', 'medium', 'low', 'none'] as const;

const USAGE = `Usage: koa-mtls doctor [options]

Audits the container this process runs in (capabilities, UID, seccomp, no_new_privs,
AppArmor/SELinux, read-only root, host mounts, runtime sockets, host namespaces,
service-account token, readable host files) and prints what weakens it.

Options:
  --fail-on <level>      critical | high | medium | low | none   (default: high)
  --ignore-unknown       do not fail on checks that could not be made
  --sandbox-root <dir>   a directory the service serves files from (repeatable)
  --root <dir>           read /proc, /sys and paths under <dir> instead of /
  --certs <dir>          also check the server certificate, key, CA (and CRL) in <dir> with
                         the rules of mtlsOptions (layouts: koa-mtls certs, Kubernetes TLS
                         secret, spiffe-helper); a refusal fails unless --fail-on none
  --launch-line          print the least-privilege node command line under Node's
                         permission model instead of the audit: --code, --certs and
                         every --sandbox-root are the only readable paths
  --code <dir>           with --launch-line: the code directory (default: working dir)
  --entry <file>         with --launch-line: the script to run (default: --code)
  --writable <dir>       with --launch-line: a directory the service writes (repeatable)
  --allow-child-process  with --launch-line: let the service spawn processes
  --json                 print the report as JSON
  --no-color             no ANSI colours (also: NO_COLOR set, or not a terminal)
  -h, --help             this help

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage error.
`;

function usageError(io: CommandIo, message: string): number {
  io.stderr(`koa-mtls doctor: ${message} (see koa-mtls doctor --help)\n`);
  return exitCodes.usage;
}

/**
 * Runs `koa-mtls doctor` with the arguments that follow the command name, and returns the exit code.
 */
export async function runDoctor(argv: readonly string[], io: CommandIo): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    if (error instanceof UsageError) return usageError(io, error.message);
    throw error;
  }
  if (values.help === true) {
    io.stdout(USAGE);
    return exitCodes.ok;
  }
  if (values['launch-line'] === true) return printLaunchLine(values, io);
  const failOnFlag = values['fail-on'] ?? 'high';
  if (!(THRESHOLDS as readonly string[]).includes(failOnFlag)) {
    return usageError(io, `--fail-on must be one of ${THRESHOLDS.join(', ')}`);
  }
  const failOn = failOnFlag === 'none' ? undefined : (failOnFlag as PostureThreshold);
  const failOnUnknown = values['ignore-unknown'] !== true;
  let report: ReturnType<typeof auditContainer>;
  try {
    report = auditContainer({
      // a command line takes paths relative to the working directory
      root: resolve(io.cwd, values.root ?? '/'),
      sandboxRoots: (values['sandbox-root'] ?? []).map((dir) => resolve(io.cwd, dir)),
    });
  } catch (error) {
    if (error instanceof InvalidOptionError) return usageError(io, error.message);
    throw error;
  }
  let certificates: CertificateDirectoryReport | undefined;
  if (values.certs !== undefined) {
    certificates = checkCertificateDirectory(resolve(io.cwd, values.certs));
    if (certificates === undefined) return usageError(io, `--certs ${values.certs}: no known layout (${knownLayouts})`);
  }
  const failing = failOn === undefined ? [] : failingChecks(report, failOn, failOnUnknown);
  const certificatesRefused = failOn !== undefined && certificates?.refusal !== undefined;
  const exitCode = failing.length > 0 || certificatesRefused ? exitCodes.findings : exitCodes.ok;
  if (values.json === true) {
    const document = {
      schema: 'koa-mtls/doctor@1',
      failOn: failOn ?? null,
      failOnUnknown,
      failing: failing.map((check) => check.id),
      exitCode,
      report,
      ...(certificates === undefined ? {} : { certificates }),
    };
    io.stdout(`${JSON.stringify(document, null, 2)}\n`);
    return exitCode;
  }
  // no-color.org: NO_COLOR set to any non-empty value disables colour
  const noColorEnv = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '';
  const color = io.isTTY && !noColorEnv && values['no-color'] !== true;
  io.stdout(formatReport(report, { color, failOn, failing }));
  if (certificates !== undefined) io.stdout(formatCertificateDirectory(certificates));
  return exitCode;
}

function printLaunchLine(values: ReturnType<typeof parse>['values'], io: CommandIo): number {
  const code = resolve(io.cwd, values.code ?? '.');
  let launch: ReturnType<typeof leastPrivilegeLaunchLine>;
  try {
    launch = leastPrivilegeLaunchLine({
      code,
      entry: values.entry === undefined ? code : resolve(io.cwd, values.entry),
      certs: values.certs === undefined ? [] : [resolve(io.cwd, values.certs)],
      sandboxRoots: (values['sandbox-root'] ?? []).map((dir) => resolve(io.cwd, dir)),
      writable: (values.writable ?? []).map((dir) => resolve(io.cwd, dir)),
      allowChildProcess: values['allow-child-process'] === true,
    });
  } catch (error) {
    if (error instanceof InvalidOptionError) return usageError(io, error.message);
    throw error;
  }
  for (const warning of launch.warnings) io.stderr(`koa-mtls doctor: warning: ${warning}\n`);
  if (values.json === true) {
    const document = {
      schema: 'koa-mtls/launch-line@1',
      argv: launch.argv,
      line: launch.line,
      warnings: launch.warnings,
    };
    io.stdout(`${JSON.stringify(document, null, 2)}\n`);
  } else {
    io.stdout(`${launch.line}\n`);
  }
  return exitCodes.ok;
}

function parse(argv: readonly string[]) {
  return parseCommandArgs({
    args: [...argv],
    allowPositionals: false,
    options: {
      'fail-on': { type: 'string' },
      'ignore-unknown': { type: 'boolean' },
      'sandbox-root': { type: 'string', multiple: true },
      root: { type: 'string' },
      certs: { type: 'string' },
      'launch-line': { type: 'boolean' },
      code: { type: 'string' },
      entry: { type: 'string' },
      writable: { type: 'string', multiple: true },
      'allow-child-process': { type: 'boolean' },
      json: { type: 'boolean' },
      'no-color': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
