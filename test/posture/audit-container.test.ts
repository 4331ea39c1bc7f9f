import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { InvalidOptionError, KoaMtlsError } from '../../src/errors.js';
import {
  auditContainer,
  type ContainerAuditReport,
  type PostureCheck,
  type PostureCheckId,
} from '../../src/posture/index.js';
import { buildTree, digestTree, removeTree } from './fixture-tree.js';
import { HARDENED_CONTAINER, HOST_PROCESS, PRIVILEGED_CONTAINER, statusText } from './fixtures.js';

const ALL_IDS: readonly PostureCheckId[] = [
  'RUNS_AS_ROOT',
  'CAPABILITIES',
  'NO_NEW_PRIVS_OFF',
  'SECCOMP_OFF',
  'LSM_UNCONFINED',
  'ROOTFS_WRITABLE',
  'HOST_PATH_MOUNTED',
  'RUNTIME_SOCKET',
  'HOST_PID_NAMESPACE',
  'HOST_NETWORK_NAMESPACE',
  'SERVICE_ACCOUNT_TOKEN',
  'HOST_FILES_READABLE',
  'PROC_SYS_WRITABLE',
];

function check(report: ContainerAuditReport, id: PostureCheckId): PostureCheck {
  const found = report.checks.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
}

const trees: string[] = [];
function tree(spec: Parameters<typeof buildTree>[0]): string {
  const root = buildTree(spec);
  trees.push(root);
  return root;
}

afterAll(() => {
  for (const root of trees) removeTree(root);
});

describe('auditContainer', () => {
  describe('when the container is hardened', () => {
    let root: string;
    let report: ContainerAuditReport;
    beforeAll(() => {
      root = tree(HARDENED_CONTAINER);
      report = auditContainer({ root });
    });

    it('reports every check as ok', () => {
      expect(report.checks.map((c) => [c.id, c.status])).toEqual(ALL_IDS.map((id) => [id, 'ok']));
      expect(report.findings).toEqual([]);
      expect(report.unknown).toEqual([]);
      expect(report.highestSeverity).toBeUndefined();
    });

    it('detects Docker from its marker file', () => {
      expect(report.container).toEqual({
        status: 'yes',
        runtime: 'docker',
        evidence: [
          '/.dockerenv exists',
          '/ is overlay (an image layer)',
          expect.stringContaining('runtime bind mounts: /etc/resolv.conf from /var/lib/docker/containers/abc/'),
        ],
      });
    });

    it('states what it saw for the ok checks', () => {
      expect(check(report, 'RUNS_AS_ROOT').evidence).toEqual(['effective UID 10001']);
      expect(check(report, 'CAPABILITIES').evidence).toEqual(['CapEff 0000000000000000: none']);
      expect(check(report, 'SECCOMP_OFF').evidence).toEqual(['Seccomp: 2 (filter, 1 filter(s))']);
      expect(check(report, 'LSM_UNCONFINED').evidence).toEqual([
        '/proc/self/attr/apparmor/current: AppArmor docker-default (enforce)',
      ]);
      expect(check(report, 'ROOTFS_WRITABLE').evidence).toEqual(['/ is overlay (overlay) mounted ro']);
      expect(check(report, 'HOST_PID_NAMESPACE').evidence).toEqual([
        '/proc/self/ns/pid is pid:[4026532570]; kernel threads are not visible',
      ]);
    });

    it('does not fail at any threshold', () => {
      expect(() => auditContainer({ root, failOn: 'low' })).not.toThrow();
    });

    it('writes nothing to the tree it reads', () => {
      const before = digestTree(root);
      auditContainer({ root, sandboxRoots: ['/srv/files'] });
      expect(digestTree(root)).toBe(before);
    });

    it('returns a frozen report', () => {
      expect(Object.isFrozen(report)).toBe(true);
      expect(Object.isFrozen(report.checks)).toBe(true);
      expect(Object.isFrozen(report.checks[0])).toBe(true);
    });
  });

  describe('when the pod is privileged with host namespaces and host mounts', () => {
    let root: string;
    let report: ContainerAuditReport;
    beforeAll(() => {
      root = tree(PRIVILEGED_CONTAINER);
      report = auditContainer({ root });
    });

    it.each<[PostureCheckId, string]>([
      ['RUNS_AS_ROOT', 'high'],
      ['CAPABILITIES', 'critical'],
      ['NO_NEW_PRIVS_OFF', 'medium'],
      ['SECCOMP_OFF', 'medium'],
      ['LSM_UNCONFINED', 'low'],
      ['ROOTFS_WRITABLE', 'medium'],
      ['HOST_PATH_MOUNTED', 'critical'],
      ['RUNTIME_SOCKET', 'critical'],
      ['HOST_PID_NAMESPACE', 'critical'],
      ['HOST_NETWORK_NAMESPACE', 'high'],
      ['SERVICE_ACCOUNT_TOKEN', 'medium'],
      ['HOST_FILES_READABLE', 'high'],
    ])('reports %s as a %s finding', (id, severity) => {
      expect(check(report, id)).toMatchObject({ status: 'finding', severity });
    });

    it('names Kubernetes as the orchestrator', () => {
      expect(report.container.status).toBe('yes');
      expect(report.container.runtime).toBe('kubernetes');
    });

    it('lists findings most severe first', () => {
      expect(report.highestSeverity).toBe('critical');
      expect(report.findings.map((f) => f.severity)).toEqual([
        'critical',
        'critical',
        'critical',
        'critical',
        'critical',
        'high',
        'high',
        'high',
        'medium',
        'medium',
        'medium',
        'medium',
        'low',
      ]);
    });

    it('names every host mount with what it exposes', () => {
      expect(check(report, 'HOST_PATH_MOUNTED').evidence).toEqual([
        "/dev: the kernel's device tree (devtmpfs): host disks are device files here [devtmpfs]",
        '/sys: sysfs mounted read-write [sysfs]',
        '/host: the host root filesystem [ext4]',
        '/var/lib/kubelet: kubelet state (credentials of every pod) [ext4 /var/lib/kubelet]',
        '/host/proc: a second procfs (the host /proc if the host mounted it) [proc]',
        '/host-etc: host /etc [ext4 /etc]',
      ]);
    });

    it('does not count the pod’s own kubelet binds (hosts, termination log, emptyDir) as host paths', () => {
      const evidence = check(report, 'HOST_PATH_MOUNTED').evidence.join('\n');
      expect(evidence).not.toContain('/etc/hosts');
      expect(evidence).not.toContain('/cache');
      expect(evidence).not.toContain('termination-log');
    });

    it('decodes every capability and says it looks privileged', () => {
      const [evidence] = check(report, 'CAPABILITIES').evidence;
      expect(evidence).toContain('CapEff 000001ffffffffff: 41 capabilities (nearly all: a privileged container?)');
      for (const name of ['SYS_ADMIN', 'SYS_PTRACE', 'NET_ADMIN', 'DAC_READ_SEARCH', 'SYS_MODULE', 'BPF']) {
        expect(evidence).toContain(name);
      }
      expect(evidence).not.toContain('NET_BIND_SERVICE');
    });

    it('sees the runtime socket mount and the host PID 1 root', () => {
      expect(check(report, 'RUNTIME_SOCKET').evidence).toEqual([
        '/run/containerd/containerd.sock: runtime socket mounted from /containerd/containerd.sock',
      ]);
      expect(check(report, 'HOST_PID_NAMESPACE').evidence).toEqual([
        '/proc/self/ns/pid is pid:[4026531836], the initial PID namespace',
        '/proc/2 is kthreadd: kernel threads are visible',
        '/proc/1/root/ (the host filesystem through PID 1) is readable by this process',
      ]);
      expect(check(report, 'HOST_NETWORK_NAMESPACE').evidence).toEqual([
        "/proc/self/ns/net equals the host init's (net:[4026531840])",
        'host interfaces visible: docker0, cni0, veth8a1b2c3d',
      ]);
    });

    it('refuses to start at failOn "critical" with ERR_POSTURE_FAIL and the report as cause', () => {
      let thrown: unknown;
      try {
        auditContainer({ root, failOn: 'critical' });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(KoaMtlsError);
      const error = thrown as KoaMtlsError;
      expect(error.code).toBe('ERR_POSTURE_FAIL');
      expect(error.status).toBe(500);
      expect(error.expose).toBe(false);
      expect(error.message).toBe(
        'Container posture check failed at "critical": CAPABILITIES (critical), HOST_PATH_MOUNTED (critical), RUNTIME_SOCKET (critical), HOST_PID_NAMESPACE (critical), PROC_SYS_WRITABLE (critical)',
      );
      expect((error.cause as ContainerAuditReport).findings).toHaveLength(13);
    });

    it('sends one posture audit event per finding before refusing to start', () => {
      const events: AuditEvent[] = [];
      expect(() => auditContainer({ root, failOn: 'high', onAudit: (event) => events.push(event) })).toThrow(
        KoaMtlsError,
      );
      expect(events).toHaveLength(13);
      expect(events[0]).toEqual({
        kind: 'posture',
        outcome: 'warn',
        reason: 'CAPABILITIES',
        detail: {
          status: 'finding',
          severity: 'critical',
          title: 'Effective capabilities beyond NET_BIND_SERVICE',
          evidence: check(report, 'CAPABILITIES').evidence,
          fix: check(report, 'CAPABILITIES').fix,
        },
      });
      expect(new Set(events.map((event) => event.reason))).toEqual(new Set(report.findings.map((f) => f.id)));
    });

    it('lets a throwing onAudit hook stop the start (fail closed)', () => {
      const failure = new Error('logger down');
      expect(() =>
        auditContainer({
          root,
          onAudit: () => {
            throw failure;
          },
        }),
      ).toThrow(failure);
    });
  });

  describe('when the process runs on a host', () => {
    let root: string;
    let report: ContainerAuditReport;
    let server: Server;
    beforeAll(async () => {
      root = tree(HOST_PROCESS);
      report = auditContainer({ root });
      server = createServer();
      await new Promise<void>((resolve) => server.listen(join(root, 'run/docker.sock'), resolve));
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('reports no container, with its reason', () => {
      expect(report.container).toEqual({
        status: 'no',
        evidence: ['no container marker file, cgroup path, runtime bind mount or container= of PID 1'],
      });
    });

    it('reports what a host process lacks', () => {
      expect(report.checks.map((c) => [c.id, c.status, c.severity])).toEqual([
        ['RUNS_AS_ROOT', 'ok', 'info'],
        ['CAPABILITIES', 'finding', 'medium'],
        ['NO_NEW_PRIVS_OFF', 'finding', 'medium'],
        ['SECCOMP_OFF', 'finding', 'medium'],
        ['LSM_UNCONFINED', 'finding', 'low'],
        ['ROOTFS_WRITABLE', 'finding', 'medium'],
        ['HOST_PATH_MOUNTED', 'finding', 'high'],
        ['RUNTIME_SOCKET', 'ok', 'info'],
        ['HOST_PID_NAMESPACE', 'finding', 'high'],
        ['HOST_NETWORK_NAMESPACE', 'finding', 'high'],
        ['SERVICE_ACCOUNT_TOKEN', 'ok', 'info'],
        ['HOST_FILES_READABLE', 'ok', 'info'],
        ['PROC_SYS_WRITABLE', 'finding', 'low'],
      ]);
    });

    it('warns that a setuid binary can regain the bounding set', () => {
      expect(check(report, 'CAPABILITIES').evidence).toEqual([
        'CapEff 0000000000000000: none',
        expect.stringMatching(/^CapBnd keeps .*SYS_ADMIN.* and no_new_privs is off/),
      ]);
    });

    it('decodes octal escapes in mount points', () => {
      // the whole-disk mount at "/home/me/My Files" is a separate disk, not the host root: not reported
      expect(check(report, 'HOST_PATH_MOUNTED').evidence).toEqual([
        '/sys: sysfs mounted read-write [sysfs]',
        "/dev: the kernel's device tree (devtmpfs): host disks are device files here [devtmpfs]",
      ]);
    });

    it('finds a runtime socket by stat when one is listening at its default path', () => {
      expect(check(auditContainer({ root }), 'RUNTIME_SOCKET')).toMatchObject({
        status: 'finding',
        severity: 'critical',
        evidence: ['/run/docker.sock: a socket is present'],
      });
    });
  });

  describe('when inputs are missing or unreadable', () => {
    it('reports every /proc check as unknown, never ok, for an empty tree', () => {
      const report = auditContainer({ root: tree({ 'etc/os-release': 'ID=fixture\n' }) });
      expect(report.container.status).toBe('unknown');
      expect(report.checks.filter((c) => c.status !== 'unknown').map((c) => c.id)).toEqual(['SERVICE_ACCOUNT_TOKEN']);
      expect(check(report, 'RUNS_AS_ROOT').evidence).toEqual(['cannot read /proc/self/status (ENOENT)']);
    });

    it('gives an unknown check the severity it could not rule out', () => {
      const report = auditContainer({ root: tree({ 'etc/os-release': 'ID=fixture\n' }) });
      expect(check(report, 'CAPABILITIES').severity).toBe('critical');
      expect(check(report, 'LSM_UNCONFINED').severity).toBe('low');
      expect(report.highestSeverity).toBeUndefined();
    });

    it('fails closed on unknown checks at failOn, unless failOnUnknown is false', () => {
      const root = tree({ 'etc/os-release': 'ID=fixture\n' });
      expect(() => auditContainer({ root, failOn: 'critical' })).toThrow(
        expect.objectContaining({
          code: 'ERR_POSTURE_FAIL',
          message: expect.stringContaining('CAPABILITIES (unknown)'),
        }),
      );
      expect(() => auditContainer({ root, failOn: 'critical', failOnUnknown: false })).not.toThrow();
    });

    it.each<[string, Parameters<typeof buildTree>[0], PostureCheckId, string]>([
      [
        'status is a directory (EISDIR)',
        { 'proc/self': { link: '9' }, 'proc/9/status': { dir: true } },
        'RUNS_AS_ROOT',
        'cannot read /proc/self/status (EISDIR)',
      ],
      [
        'status has no effective Uid',
        { 'proc/self': { link: '9' }, 'proc/9/status': 'Name:\tnode\nUid:\n' },
        'RUNS_AS_ROOT',
        '/proc/self/status has no effective Uid',
      ],
      [
        'CapEff is not hexadecimal',
        { 'proc/self': { link: '9' }, 'proc/9/status': 'CapEff:\tzzzz\n' },
        'CAPABILITIES',
        '/proc/self/status has no readable CapEff',
      ],
      [
        'the kernel reports no NoNewPrivs',
        { 'proc/self': { link: '9' }, 'proc/9/status': statusText({ uid: '1', capEff: '0', capBnd: '0' }) },
        'NO_NEW_PRIVS_OFF',
        '/proc/self/status has no NoNewPrivs field (kernel older than 4.10?)',
      ],
      [
        'the kernel reports no Seccomp',
        { 'proc/self': { link: '9' }, 'proc/9/status': statusText({ uid: '1', capEff: '0', capBnd: '0' }) },
        'SECCOMP_OFF',
        '/proc/self/status has no Seccomp field (kernel built without CONFIG_SECCOMP?)',
      ],
      [
        'mountinfo holds no parsable line',
        { 'proc/self': { link: '9' }, 'proc/9/mountinfo': 'garbage\n' },
        'ROOTFS_WRITABLE',
        'cannot read /proc/self/mountinfo (EMPTY)',
      ],
      [
        'mountinfo has a line it cannot parse',
        {
          'proc/self': { link: '9' },
          'proc/9/mountinfo': '1 0 8:1 / / ro - ext4 /dev/sda1 ro\nnot a mount line\n',
        },
        'HOST_PATH_MOUNTED',
        '1 mountinfo line(s) not understood',
      ],
      [
        'mountinfo lists no root mount',
        { 'proc/self': { link: '9' }, 'proc/9/mountinfo': '2 1 0:5 / /proc rw - proc proc rw\n' },
        'ROOTFS_WRITABLE',
        '/proc/self/mountinfo lists no mount at /',
      ],
      [
        'the PID namespace link is missing',
        { 'proc/self': { link: '9' }, 'proc/9/status': 'Name:\tnode\n' },
        'HOST_PID_NAMESPACE',
        'cannot read /proc/self/ns/pid (ENOENT)',
      ],
      [
        'the AppArmor label is a symlink loop',
        {
          'proc/self': { link: '9' },
          'proc/9/attr/apparmor/current': { link: 'current' },
          'proc/9/attr/current': { dir: true },
        },
        'LSM_UNCONFINED',
        'cannot read /proc/self/attr/apparmor/current (ELOOP)',
      ],
    ])('reports unknown when %s', (_case, spec, id, evidence) => {
      const found = check(auditContainer({ root: tree(spec) }), id);
      expect(found.status).toBe('unknown');
      expect(found.evidence).toContain(evidence);
    });
  });

  describe('when it reads the machine it runs on', () => {
    it('returns a well-formed report', () => {
      const report = auditContainer();
      expect(report.root).toBe('/');
      expect(['yes', 'no', 'unknown']).toContain(report.container.status);
      // the live process adds its permission model (off under vitest: no scope checks)
      expect(report.checks.map((c) => c.id)).toEqual([...ALL_IDS, 'PERMISSION_MODEL']);
      for (const found of report.checks) {
        expect(['ok', 'finding', 'unknown']).toContain(found.status);
        expect(['critical', 'high', 'medium', 'low', 'info']).toContain(found.severity);
        expect(found.evidence.length).toBeGreaterThan(0);
        for (const fact of found.evidence) expect(fact).toEqual(expect.any(String));
        expect(found.why.length).toBeGreaterThan(20);
        expect(found.fix.docker.length).toBeGreaterThan(0);
        expect(found.fix.kubernetes.length).toBeGreaterThan(0);
        if (found.status === 'ok') expect(found.severity).toBe('info');
      }
      expect(report.findings.every((f) => f.status === 'finding')).toBe(true);
      expect(report.unknown.every((f) => f.status === 'unknown')).toBe(true);
      expect(JSON.parse(JSON.stringify(report))).toEqual(report);
      expect(report.durationMs).toEqual(expect.any(Number));
    });
  });

  describe('when options are malformed', () => {
    it.each<[string, unknown, string]>([
      ['an unknown key', { rot: '/' }, 'auditContainer.rot'],
      ['a relative root', { root: 'proc' }, 'auditContainer.root'],
      ['an empty root', { root: '' }, 'auditContainer.root'],
      ['sandboxRoots that is not an array', { sandboxRoots: '/srv' }, 'auditContainer.sandboxRoots'],
      ['sandboxRoots that is null', { sandboxRoots: null }, 'auditContainer.sandboxRoots'],
      ['a root with NUL', { root: '/tmp\0' }, 'auditContainer.root'],
      ['a relative sandbox root', { sandboxRoots: ['/srv', 'files'] }, 'auditContainer.sandboxRoots[1]'],
      ['a sandbox root with NUL', { sandboxRoots: ['/srv\0'] }, 'auditContainer.sandboxRoots[0]'],
      ['failOn "info"', { failOn: 'info' }, 'auditContainer.failOn'],
      ['failOnUnknown that is not a boolean', { failOnUnknown: 'yes' }, 'auditContainer.failOnUnknown'],
      ['onAudit that is not a function', { onAudit: 'console' }, 'auditContainer.onAudit'],
      ['options that are not a plain object', [], 'auditContainer'],
    ])('throws InvalidOptionError for %s', (_case, options, path) => {
      expect(() => auditContainer(options as never)).toThrow(expect.objectContaining({ path }));
      expect(() => auditContainer(options as never)).toThrow(InvalidOptionError);
    });

    it('does not mutate the caller’s options', () => {
      const options = Object.freeze({ root: '/', sandboxRoots: Object.freeze(['/srv/files']) });
      expect(() => auditContainer(options)).not.toThrow();
    });
  });
});
