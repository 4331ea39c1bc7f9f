import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/cli/doctor.js';
import { capturedIo, runCli, type TerminalOptions } from '../helpers/captured-io.js';
import { buildTree, removeTree } from '../posture/fixture-tree.js';
import { HARDENED_CONTAINER, HOST_PROCESS, PRIVILEGED_CONTAINER } from '../posture/fixtures.js';

const doctor = (argv: readonly string[], terminal: TerminalOptions = {}) =>
  runCli(argv, { ...terminal, cwd: process.cwd(), command: runDoctor });

const ESC = '\u001b[';

let hardened: string;
let privileged: string;
let host: string;
let empty: string;
beforeAll(() => {
  hardened = buildTree(HARDENED_CONTAINER);
  privileged = buildTree(PRIVILEGED_CONTAINER);
  host = buildTree(HOST_PROCESS);
  empty = buildTree({ 'etc/os-release': 'ID=fixture\n' });
});
afterAll(() => {
  for (const root of [hardened, privileged, host, empty]) removeTree(root);
});

describe('koa-mtls doctor', () => {
  describe('exit codes', () => {
    it.each<[string, () => string[], number]>([
      ['a hardened container at the default threshold (high)', () => ['--root', hardened], 0],
      ['a privileged pod at the default threshold', () => ['--root', privileged], 1],
      ['a privileged pod with --fail-on none', () => ['--root', privileged, '--fail-on', 'none'], 0],
      ['a host process at --fail-on critical', () => ['--root', host, '--fail-on', 'critical'], 0],
      ['a host process at --fail-on high', () => ['--root', host, '--fail-on', 'high'], 1],
      [
        'a hardened container with a readable sandbox parent at --fail-on low',
        () => ['--root', hardened, '--sandbox-root', '/srv/files', '--fail-on', 'low'],
        1,
      ],
      ['an unreadable /proc (unknown checks fail closed)', () => ['--root', empty], 1],
      ['an unreadable /proc with --ignore-unknown', () => ['--root', empty, '--ignore-unknown'], 0],
    ])('for %s, exits with the expected code', async (_case, argv, expected) => {
      expect((await doctor(argv())).code).toBe(expected);
    });
  });

  describe('when the arguments are wrong', () => {
    it.each<[string, string[], string]>([
      ['an unknown flag', ['--frobnicate'], "Unknown option '--frobnicate'"],
      ['a positional argument', ['extra'], "Unexpected argument 'extra'"],
      ['a flag without its value', ['--fail-on'], "Option '--fail-on <value>' argument missing"],
      ['an unknown threshold', ['--fail-on', 'info'], '--fail-on must be one of critical, high, medium, low, none'],
      [
        'a sandbox root with NUL',
        ['--sandbox-root', '/srv\0'],
        '"auditContainer.sandboxRoots[0]" must be an absolute path',
      ],
    ])('exits 2 with one line on stderr for %s', async (_case, argv, message) => {
      const run = await doctor(argv);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.endsWith('\n')).toBe(true);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(message);
      expect(run.stderr.startsWith('koa-mtls doctor: ')).toBe(true);
    });

    it('prints the usage with its exit codes for --help, and exits 0', async () => {
      const run = await doctor(['--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: koa-mtls doctor [options]');
      expect(run.stdout).toContain(
        'Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage error.',
      );
    });
  });

  describe('--json', () => {
    it('prints one JSON document with the threshold, the failing ids and the report', async () => {
      const run = await doctor(['--root', privileged, '--json', '--fail-on', 'critical']);
      expect(run.code).toBe(1);
      const document = JSON.parse(run.stdout);
      expect(document).toMatchObject({
        schema: 'koa-mtls/doctor@1',
        failOn: 'critical',
        failOnUnknown: true,
        failing: ['CAPABILITIES', 'HOST_PATH_MOUNTED', 'RUNTIME_SOCKET', 'HOST_PID_NAMESPACE', 'PROC_SYS_WRITABLE'],
        exitCode: 1,
        report: { root: privileged, container: { status: 'yes', runtime: 'kubernetes' }, highestSeverity: 'critical' },
      });
      expect(Object.keys(document.report)).toEqual([
        'root',
        'container',
        'checks',
        'findings',
        'unknown',
        'highestSeverity',
        'durationMs',
      ]);
      expect(Object.keys(document.report.checks[0])).toEqual([
        'id',
        'title',
        'status',
        'severity',
        'evidence',
        'why',
        'fix',
      ]);
      expect(document.report.checks).toHaveLength(13);
    });

    it('reports a null threshold and exit 0 with --fail-on none', async () => {
      const document = JSON.parse((await doctor(['--root', privileged, '--json', '--fail-on', 'none'])).stdout);
      expect(document).toMatchObject({ failOn: null, failing: [], exitCode: 0 });
    });

    it('never colours JSON, even on a terminal', async () => {
      const run = await doctor(['--root', privileged, '--json'], { isTTY: true });
      expect(run.stdout).not.toContain(ESC);
    });
  });

  describe('the table', () => {
    it('lists each check with its status, severity and what was seen, then the details and a summary', async () => {
      const run = await doctor(['--root', host]);
      const lines = run.stdout.split('\n');
      expect(lines[0]).toBe('koa-mtls doctor: container posture');
      expect(lines[1]).toBe(
        'Container  no: no container marker file, cgroup path, runtime bind mount or container= of PID 1',
      );
      expect(run.stdout).toContain('STATUS   SEVERITY   CHECK                    OBSERVED');
      expect(run.stdout).toContain(
        'FINDING  high       HOST_PID_NAMESPACE       /proc/self/ns/pid is pid:[4026531836]',
      );
      expect(run.stdout).toContain('ok                  RUNS_AS_ROOT             effective UID 1000');
      expect(run.stdout).toContain('  fix   docker: no --pid=host\n        k8s:    hostPID: false (the default)');
      expect(lines.at(-3)).toBe('9 finding(s) (3 high, 4 medium, 2 low), 0 unknown, 4 ok.');
      expect(lines.at(-2)).toBe(
        'At or above "high": HOST_PATH_MOUNTED, HOST_PID_NAMESPACE, HOST_NETWORK_NAMESPACE: exit 1.',
      );
    });

    it('shows an unknown check with the severity it could not rule out', async () => {
      const run = await doctor(['--root', empty]);
      expect(run.stdout).toContain('unknown  (critical) CAPABILITIES ');
      expect(run.stdout).toContain(
        'CAPABILITIES (unknown, up to critical): Effective capabilities beyond NET_BIND_SERVICE',
      );
    });

    it.each<[string, { isTTY: boolean; env: NodeJS.ProcessEnv }, string[], boolean]>([
      ['on a terminal', { isTTY: true, env: {} }, [], true],
      ['on a terminal with NO_COLOR=1', { isTTY: true, env: { NO_COLOR: '1' } }, [], false],
      ['on a terminal with an empty NO_COLOR', { isTTY: true, env: { NO_COLOR: '' } }, [], true],
      ['on a terminal with --no-color', { isTTY: true, env: {} }, ['--no-color'], false],
      ['into a pipe', { isTTY: false, env: {} }, [], false],
    ])('uses colours %s: %s', async (_case, io, extra, coloured) => {
      const run = await doctor(['--root', privileged, ...extra], io);
      expect(run.stdout.includes(ESC)).toBe(coloured);
    });
  });

  it('resolves a relative --root against the working directory', async () => {
    const run = await doctor(['--root', '.', '--json', '--fail-on', 'none']);
    expect(JSON.parse(run.stdout).report.root).toBe(process.cwd());
  });

  it('exits with the same codes as a real `koa-mtls doctor` process (node --import tsx src/cli.ts)', () => {
    const entry = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', entry, 'doctor', ...args], { encoding: 'utf8', timeout: 20_000 });
    const failing = run(['--root', privileged, '--json']);
    expect(failing.status).toBe(1);
    expect(JSON.parse(failing.stdout).failing).toContain('RUNTIME_SOCKET');
    expect(run(['--root', hardened]).status).toBe(0);
    const usage = run(['--nope']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("Unknown option '--nope'");
    // three real processes, each loading TypeScript through tsx: slow on a loaded machine, not a timing assertion
  }, 90_000);
});

describe('koa-mtls doctor --launch-line', () => {
  it('prints the least-privilege command: code, certificates and sandbox roots readable, nothing else', async () => {
    const captured = capturedIo('/app');
    const code = await runDoctor(
      ['--launch-line', '--certs', '/etc/tls', '--sandbox-root', '/srv/files', '--entry', 'dist/server.js'],
      captured,
    );
    expect(code).toBe(0);
    const flag = Number.parseInt(process.versions.node, 10) <= 20 ? '--experimental-permission' : '--permission';
    expect(captured.out()).toBe(
      `node ${flag} --allow-fs-read=/app --allow-fs-read=/etc/tls --allow-fs-read=/srv/files --allow-fs-read=/proc/self/fd --allow-fs-read=/proc/self/mountinfo /app/dist/server.js\n`,
    );
    expect(captured.out()).not.toContain('--allow-child-process');
  });

  it('adds child processes and writes only when asked, as JSON', async () => {
    const captured = capturedIo('/app');
    await runDoctor(
      ['--launch-line', '--json', '--allow-child-process', '--writable', 'uploads', '--sandbox-root', 'srv'],
      captured,
    );
    const document = JSON.parse(captured.out());
    expect(document.schema).toBe('koa-mtls/launch-line@1');
    expect(document.argv).toContain('--allow-child-process');
    expect(document.argv).toContain('--allow-fs-write=/app/uploads');
    // the sandbox creates files through /proc/self/fd/<dirfd>/<name>: Node checks that path, not the directory
    expect(document.argv).toContain('--allow-fs-write=/proc/self/fd');
    expect(document.argv.at(-1)).toBe('/app');
  });

  // observed on Node 20.20, 22.23 and 24.22: with /srv/a and /srv/ab granted, stat('/srv/a') is refused
  it('warns about grants Node mishandles: one a string prefix of another', async () => {
    const captured = capturedIo('/app');
    await runDoctor(['--launch-line', '--sandbox-root', '/srv/a', '--sandbox-root', '/srv/ab'], captured);
    expect(captured.err()).toContain('koa-mtls doctor: warning: grants /srv/a and /srv/ab:');
  });
});
