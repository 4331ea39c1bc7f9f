/**
 * Readability as the kernel decides it, on the real kernel: `koa-mtls doctor --json` run in processes whose
 * credentials `setpriv` changed. `access(2)` answers for the real UID without capabilities or ptrace rules; these
 * cases are where it and `open(2)` disagree.
 */
import { chmodSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForNode } from '../../scripts/bundle-for-node.js';
import type { ContainerAuditReport, PostureCheck } from '../../src/posture/index.js';
import { externalTools } from '../helpers/external-tools.js';
import { runProgram } from '../helpers/processes.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const available = externalTools('posture kernel tests', ['setpriv'], {
  what: 'root (setpriv changes credentials)',
  met: () => process.getuid?.() === 0,
});

const hostPidNamespace = readlinkSync('/proc/self/ns/pid') === 'pid:[4026531836]';
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const DROP_ALL = ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all'];

/**
 * The CLI bundled into one world-readable file: a UID other than the checkout's owner may not be able to reach the
 * repository (a clone under a private `mktemp -d` directory), and so not its `node_modules`.
 */
function bundleCli(directory: string): string {
  chmodSync(directory, 0o755);
  const file = join(directory, 'cli.mjs');
  bundleForNode('src/cli.ts', file);
  chmodSync(file, 0o644);
  return file;
}

async function doctorAs(cli: string, setprivArgs: readonly string[]): Promise<ContainerAuditReport> {
  const args = [...setprivArgs, process.execPath, cli, 'doctor', '--json', '--fail-on', 'none'];
  const { code, stdout, stderr } = await runProgram('setpriv', args, { cwd: '/', timeoutMs: 60_000 });
  if (code !== 0) throw new Error(`koa-mtls doctor under setpriv exited ${code}: ${stderr}`);
  return (JSON.parse(stdout) as { report: ContainerAuditReport }).report;
}

function hostFiles(report: ContainerAuditReport): PostureCheck {
  const found = report.checks.find((check) => check.id === 'HOST_FILES_READABLE');
  if (found === undefined) throw new Error('no HOST_FILES_READABLE');
  return found;
}

describe.runIf(available)('HOST_FILES_READABLE on the real kernel', () => {
  let nobody: ContainerAuditReport;
  let nobodyWithCap: ContainerAuditReport;
  let rootWithoutCaps: ContainerAuditReport;
  let bundleDirectory: { readonly path: string; dispose(): void } | undefined;
  afterAll(() => bundleDirectory?.dispose());
  beforeAll(async () => {
    bundleDirectory = temporaryDirectory('kernel');
    const cli = bundleCli(bundleDirectory.path);
    [nobody, nobodyWithCap, rootWithoutCaps] = await Promise.all([
      doctorAs(cli, [...NOBODY, ...DROP_ALL]),
      // capabilities(7): CAP_DAC_READ_SEARCH bypasses read permission checks; access(2) ignores it for a non-root UID
      doctorAs(cli, [...NOBODY, '--inh-caps=+dac_read_search', '--ambient-caps=+dac_read_search']),
      // root without CAP_SYS_PTRACE: /proc/1/environ is 0400 root (access says yes), open needs ptrace access
      doctorAs(cli, DROP_ALL),
    ]);
  }, 120_000);

  it('does not list /etc/shadow for an unprivileged UID (true negative)', () => {
    expect(hostFiles(nobody).evidence.join('\n')).not.toMatch(/^readable: [^\n]*\/etc\/shadow/m);
  });

  it('lists /etc/shadow when CAP_DAC_READ_SEARCH opens it (true positive access(2) misses)', () => {
    expect(hostFiles(nobodyWithCap)).toMatchObject({ status: 'finding', severity: 'high' });
    expect(hostFiles(nobodyWithCap).evidence[0]).toMatch(/^readable: \/etc\/shadow/);
  });

  // PID 1's files are checked only where PID 1 may be the host's: the host PID namespace
  it.runIf(hostPidNamespace)(
    'does not list /proc/1/environ that access(2) allows but open(2) refuses (ptrace rules)',
    () => {
      const evidence = hostFiles(rootWithoutCaps).evidence.join('\n');
      expect(evidence).toMatch(/^not readable: [^\n]*\/proc\/1\/environ/m);
      expect(evidence).not.toMatch(/^readable: [^\n]*\/proc\/1\/environ/m);
    },
  );
});
