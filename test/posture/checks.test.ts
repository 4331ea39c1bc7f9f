import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkHostFilesReadable,
  checkSandboxRoots,
  checkServiceAccountToken,
} from '../../src/posture/access-checks.js';
import { CATALOG } from '../../src/posture/catalog.js';
import { type AccessResult, createHostView, type HostView } from '../../src/posture/host-view.js';
import { auditContainer, type PostureCheck, type PostureCheckId } from '../../src/posture/index.js';
import { type AuditInputs, readInputs } from '../../src/posture/inputs.js';
import { checkProcSysWritable, checkRuntimeSocket } from '../../src/posture/mount-checks.js';
import { buildTree, removeTree, type TreeSpec } from './fixture-tree.js';
import { HARDENED_CONTAINER, statusText } from './fixtures.js';

const trees: string[] = [];
function tree(spec: TreeSpec): string {
  const root = buildTree(spec);
  trees.push(root);
  return root;
}
afterAll(() => {
  for (const root of trees) removeTree(root);
});

function checkOf(spec: TreeSpec, id: PostureCheckId): PostureCheck {
  const found = auditContainer({ root: tree(spec) }).checks.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
}

/** Inputs whose `access` answers are overridden per path: file modes cannot deny root, which CI may run as. */
function inputsWithAccess(spec: TreeSpec, answers: Readonly<Record<string, AccessResult>>): AuditInputs {
  const inputs = readInputs(tree(spec));
  const real = inputs.view;
  const view: HostView = {
    ...real,
    canRead: (path) => (Object.hasOwn(answers, path) ? (answers[path] as AccessResult) : real.canRead(path)),
  };
  return { ...inputs, view };
}

const SELF = { 'proc/self': { link: '7' } } as const;

describe('RUNS_AS_ROOT', () => {
  it.each<[string, string | undefined, string, string]>([
    ['host root', '         0          0 4294967295\n', 'high', 'effective UID 0 (not remapped by a user namespace)'],
    [
      'root in a user namespace',
      '         0     100000      65536\n',
      'medium',
      'effective UID 0, mapped to host UID 100000 by a user namespace',
    ],
    ['root with an unreadable uid_map', undefined, 'high', 'cannot read /proc/self/uid_map (ENOENT)'],
  ])('rates %s', (_case, uidMap, severity, evidence) => {
    const spec: TreeSpec = {
      ...SELF,
      'proc/7/status': statusText({ uid: '0', capEff: '0', capBnd: '0' }),
      ...(uidMap === undefined ? {} : { 'proc/7/uid_map': uidMap }),
    };
    expect(checkOf(spec, 'RUNS_AS_ROOT')).toMatchObject({ status: 'finding', severity });
    expect(checkOf(spec, 'RUNS_AS_ROOT').evidence).toContain(evidence);
  });
});

describe('CAPABILITIES', () => {
  it.each<[string, string, string, string]>([
    ['NET_BIND_SERVICE only', '0000000000000400', 'ok', 'CapEff 0000000000000400: NET_BIND_SERVICE'],
    ['Docker’s default set', '00000000a80425fb', 'finding', 'high'],
    ['SYS_ADMIN', '0000000000200000', 'finding', 'critical'],
    ['SYS_PTRACE', '0000000000080000', 'finding', 'critical'],
    ['DAC_READ_SEARCH', '0000000000000004', 'finding', 'critical'],
    ['SYS_MODULE', '0000000000010000', 'finding', 'critical'],
    ['NET_ADMIN', '0000000000001000', 'finding', 'high'],
    ['NET_RAW', '0000000000002000', 'finding', 'medium'],
    ['a capability newer than the table (bit 45)', '0000200000000000', 'finding', 'high'],
  ])('rates %s', (_case, capEff, status, detail) => {
    const found = checkOf(
      { ...SELF, 'proc/7/status': statusText({ uid: '1000', capEff, capBnd: capEff, noNewPrivs: '1' }) },
      'CAPABILITIES',
    );
    expect(found.status).toBe(status);
    if (status === 'ok') expect(found.evidence).toEqual([detail]);
    else expect(found.severity).toBe(detail);
  });

  it('names ambient capabilities', () => {
    const found = checkOf(
      {
        ...SELF,
        'proc/7/status': statusText({
          uid: '1000',
          capEff: '0000000000001000',
          capBnd: '0000000000001000',
          capAmb: '0000000000001000',
          noNewPrivs: '1',
        }),
      },
      'CAPABILITIES',
    );
    expect(found.evidence).toEqual([
      'CapEff 0000000000001000: 1 beyond NET_BIND_SERVICE: NET_ADMIN',
      'rated as host capabilities: cannot read /proc/self/uid_map (ENOENT)',
      'CapAmb 0000000000001000: NET_ADMIN (kept across execve)',
    ]);
  });

  // user_namespaces(7): a capability acts on the resources its user namespace owns
  it.each<[string, string | undefined, string, string]>([
    ['the initial user namespace', '         0          0 4294967295\n', 'critical', '(the initial user namespace)'],
    ['a user namespace that maps host root in', '0 0 1\n1 100000 65535\n', 'critical', '(host UID 0 is mapped in)'],
    ['a user namespace mapped to unprivileged host UIDs', '0 100000 65536\n', 'medium', 'held in a user namespace'],
    ['an unreadable uid_map (rated as the host’s)', undefined, 'critical', 'rated as host capabilities'],
    ['a uid_map that is not a map', 'garbage\n', 'critical', 'not understood'],
  ])('rates SYS_ADMIN in %s', (_case, uidMap, severity, evidence) => {
    const found = checkOf(
      {
        ...SELF,
        'proc/7/status': statusText({ uid: '0', capEff: '0000000000200000', capBnd: '0', noNewPrivs: '1' }),
        ...(uidMap === undefined ? {} : { 'proc/7/uid_map': uidMap }),
      },
      'CAPABILITIES',
    );
    expect(found).toMatchObject({ status: 'finding', severity });
    expect(found.evidence.join('\n')).toContain(evidence);
  });

  it('does not warn about the bounding set when no_new_privs is on', () => {
    const found = checkOf(
      {
        ...SELF,
        'proc/7/status': statusText({ uid: '1000', capEff: '0', capBnd: '000001ffffffffff', noNewPrivs: '1' }),
      },
      'CAPABILITIES',
    );
    expect(found.status).toBe('ok');
  });
});

describe('LSM_UNCONFINED', () => {
  it.each<[string, TreeSpec, string, string]>([
    ['AppArmor enforcing', { 'proc/7/attr/apparmor/current': 'docker-default (enforce)\n' }, 'ok', 'info'],
    ['AppArmor complain mode', { 'proc/7/attr/apparmor/current': 'my-profile (complain)\n' }, 'finding', 'low'],
    ['AppArmor unconfined', { 'proc/7/attr/apparmor/current': 'unconfined\n' }, 'finding', 'low'],
    ['SELinux container_t', { 'proc/7/attr/current': 'system_u:system_r:container_t:s0:c1,c2\0' }, 'ok', 'info'],
    ['SELinux spc_t (super-privileged)', { 'proc/7/attr/current': 'system_u:system_r:spc_t:s0\0' }, 'finding', 'low'],
    [
      'SELinux permissive',
      { 'proc/7/attr/current': 'system_u:system_r:container_t:s0\0', 'sys/fs/selinux/enforce': '0' },
      'finding',
      'low',
    ],
    ['no label files at all', {}, 'unknown', 'low'],
    ['an empty label', { 'proc/7/attr/current': '\0' }, 'unknown', 'low'],
  ])('rates %s', (_case, files, status, severity) => {
    expect(checkOf({ ...SELF, ...files }, 'LSM_UNCONFINED')).toMatchObject({ status, severity });
  });
});

describe('HOST_PATH_MOUNTED', () => {
  const base = '1 0 0:50 / / ro,relatime - overlay overlay ro\n';
  const hostDisk = '2 1 8:1 /var/lib/docker/containers/abc/hosts /etc/hosts rw - ext4 /dev/sda1 rw\n';
  it.each<[string, string, string | undefined]>([
    ['the host root, recognised by its disk', `${hostDisk}3 1 8:1 / /host rw - ext4 /dev/sda1 rw\n`, 'critical'],
    ['a whole separate volume (a PVC)', `${hostDisk}3 1 8:16 / /data rw - ext4 /dev/sdb rw\n`, undefined],
    ['host /etc', '3 1 8:1 /etc /host-etc ro - xfs /dev/sda1 rw\n', 'high'],
    ['Kubernetes node credentials', '3 1 8:1 /etc/kubernetes /k ro - xfs /dev/sda1 rw\n', 'critical'],
    ['Docker state', '3 1 8:1 /var/lib/docker /d ro - ext4 /dev/sda1 rw\n', 'critical'],
    [
      'a Kubernetes pod’s own hostname from containerd',
      '3 1 8:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/5f/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n',
      undefined,
    ],
    ['containerd state', '3 1 8:1 /var/lib/containerd /c rw - ext4 /dev/sda1 rw\n', 'critical'],
    ['a Docker named volume', '3 1 8:1 /var/lib/docker/volumes/v/_data /v rw - ext4 /dev/sda1 rw\n', undefined],
    ['host logs', '3 1 8:1 /var/log /logs ro - ext4 /dev/sda1 rw\n', 'medium'],
    ['a second procfs', '3 1 0:5 / /host/proc rw - proc proc rw\n', 'high'],
    ['a read-only bind inside /proc (Docker masking)', '3 1 0:5 /bus /proc/bus ro - proc proc rw\n', undefined],
    ['a second sysfs', '3 1 0:6 / /host/sys ro - sysfs sysfs ro\n', 'high'],
    ['a read-write /sys', '3 1 0:6 / /sys rw - sysfs sysfs rw\n', 'medium'],
    ['the kernel device tree', '3 1 0:7 / /dev rw - devtmpfs udev rw\n', 'high'],
    ['a host disk device node', '3 1 0:7 /sda /dev/sda rw - devtmpfs udev rw\n', 'high'],
    ['/dev/null bound from the host (rootless Podman)', '3 1 0:7 /null /dev/null rw - devtmpfs udev rw\n', undefined],
    ['/dev/null bound over /proc/kcore (masking)', '3 1 0:7 /null /proc/kcore ro - devtmpfs udev rw\n', undefined],
    ['a tmpfs', '3 1 0:8 / /tmp rw - tmpfs tmpfs rw\n', undefined],
  ])('rates %s', (_case, lines, severity) => {
    const found = checkOf({ ...SELF, 'proc/7/mountinfo': base + lines }, 'HOST_PATH_MOUNTED');
    if (severity === undefined) expect(found.status).toBe('ok');
    else expect(found).toMatchObject({ status: 'finding', severity });
  });
});

describe('RUNTIME_SOCKET', () => {
  it.each([
    ['/var/run/docker.sock', '3 1 0:24 /docker.sock /var/run/docker.sock rw - tmpfs tmpfs rw\n'],
    ['a renamed docker.sock', '3 1 0:24 /docker.sock /tmp/d rw - tmpfs tmpfs rw\n'],
    ['crio.sock', '3 1 0:24 /crio/crio.sock /crio.sock rw - tmpfs tmpfs rw\n'],
    ['podman.sock', '3 1 0:24 /podman/podman.sock /run/podman/podman.sock rw - tmpfs tmpfs rw\n'],
  ])('reports %s mounted in as critical', (_case, line) => {
    const found = checkOf(
      { ...SELF, 'proc/7/mountinfo': `1 0 0:50 / / ro - overlay overlay ro\n${line}` },
      'RUNTIME_SOCKET',
    );
    expect(found).toMatchObject({ status: 'finding', severity: 'critical' });
  });

  it.each<[string, string | undefined, string, string]>([
    ['without capabilities', '0000000000000000', 'high', ' (not writable by this process)'],
    // access(2) ignores capabilities for the real UID; connect(2) honours CAP_DAC_OVERRIDE
    ['with CAP_DAC_OVERRIDE', '0000000000000002', 'critical', ''],
    ['with unreadable capabilities (fail closed)', undefined, 'critical', ''],
  ])('rates a socket access(2) refuses %s as %s', (_case, capEff, severity, note) => {
    const view = readInputs(
      tree({
        ...SELF,
        'proc/7/mountinfo':
          '1 0 0:50 / / ro - overlay overlay ro\n3 1 0:24 /docker.sock /var/run/docker.sock rw - tmpfs tmpfs rw\n',
        ...(capEff === undefined ? {} : { 'proc/7/status': statusText({ uid: '1000', capEff, capBnd: capEff }) }),
      }),
    );
    const inputs: AuditInputs = { ...view, view: { ...view.view, canWrite: () => 'no' } };
    expect(checkRuntimeSocket(inputs)).toEqual({
      status: 'finding',
      severity,
      evidence: [`/var/run/docker.sock: runtime socket mounted from /docker.sock${note}`],
    });
  });

  it('is ok, not unknown, when a socket directory cannot be searched (EACCES: no connect either)', () => {
    const real = readInputs(tree({ ...SELF, 'proc/7/mountinfo': '1 0 0:50 / / ro - overlay overlay ro\n' }));
    const inputs: AuditInputs = {
      ...real,
      view: {
        ...real.view,
        stat: (path) => (path.startsWith('/run/crio') ? { ok: false, error: 'EACCES' } : real.view.stat(path)),
      },
    };
    expect(checkRuntimeSocket(inputs).status).toBe('ok');
  });

  it('says unknown when a socket path cannot be checked for another reason', () => {
    const real = readInputs(tree({ ...SELF, 'proc/7/mountinfo': '1 0 0:50 / / ro - overlay overlay ro\n' }));
    const inputs: AuditInputs = {
      ...real,
      view: {
        ...real.view,
        stat: (path) => (path === '/run/crio/crio.sock' ? { ok: false, error: 'EIO' } : real.view.stat(path)),
      },
    };
    expect(checkRuntimeSocket(inputs)).toMatchObject({
      status: 'unknown',
      evidence: ['cannot stat /run/crio/crio.sock (EIO)'],
    });
  });

  it('ignores a regular file at a socket path', () => {
    const found = checkOf(
      { ...SELF, 'proc/7/mountinfo': '1 0 0:50 / / ro - overlay overlay ro\n', 'var/run/docker.sock': 'not a socket' },
      'RUNTIME_SOCKET',
    );
    expect(found.status).toBe('ok');
  });
});

describe('HOST_PID_NAMESPACE and HOST_NETWORK_NAMESPACE', () => {
  it('reports the host PID namespace as high when PID 1’s root is not readable', () => {
    const found = checkOf(
      { ...SELF, 'proc/7/ns/pid': { link: 'pid:[4026531836]' }, 'proc/2/comm': 'kthreadd\n' },
      'HOST_PID_NAMESPACE',
    );
    expect(found).toMatchObject({ status: 'finding', severity: 'high' });
  });

  it('is ok in its own namespace even when PID 2 exists', () => {
    const found = checkOf(
      { ...SELF, 'proc/7/ns/pid': { link: 'pid:[4026532570]' }, 'proc/2/comm': 'node\n' },
      'HOST_PID_NAMESPACE',
    );
    expect(found.status).toBe('ok');
  });

  it('says unknown when /proc/2 cannot be read', () => {
    const found = checkOf(
      { ...SELF, 'proc/7/ns/pid': { link: 'pid:[4026532570]' }, 'proc/2/comm': { dir: true } },
      'HOST_PID_NAMESPACE',
    );
    expect(found).toMatchObject({ status: 'unknown', evidence: ['cannot read /proc/2/comm (EISDIR)'] });
  });

  it.each([['docker0'], ['br-0a1b2c3d4e5f'], ['cali12ab34cd56'], ['cilium_host'], ['flannel.1'], ['veth1a2b3c']])(
    'reports interface %s as a sign of the host network',
    (name) => {
      const netDev = `h1\nh2\n    lo: 0 0\n  eth0: 0 0\n${name}: 0 0\n`;
      expect(checkOf({ ...SELF, 'proc/7/net/dev': netDev }, 'HOST_NETWORK_NAMESPACE')).toMatchObject({
        status: 'finding',
        severity: 'high',
        evidence: [`host interfaces visible: ${name}`],
      });
    },
  );

  it('says unknown when net/dev cannot be read', () => {
    expect(checkOf({ ...SELF }, 'HOST_NETWORK_NAMESPACE').status).toBe('unknown');
  });
});

describe('HOST_NETWORK_NAMESPACE: never ok when an input is unreadable', () => {
  const HOST_PID = { 'proc/7/ns/pid': { link: 'pid:[4026531836]' } } as const;
  const OWN_PID = { 'proc/7/ns/pid': { link: 'pid:[4026532570]' } } as const;
  const NET_DEV = { 'proc/7/net/dev': 'h1\nh2\n    lo: 0 0\n  eth0: 0 0\n' } as const;

  it.each<[string, TreeSpec, string, string[]]>([
    [
      'the host PID namespace and PID 1’s network namespace (true positive)',
      {
        ...HOST_PID,
        ...NET_DEV,
        'proc/7/ns/net': { link: 'net:[4026531840]' },
        'proc/1/ns/net': { link: 'net:[4026531840]' },
      },
      'finding',
      ["/proc/self/ns/net equals the host init's (net:[4026531840])"],
    ],
    [
      'the host PID namespace and a network namespace of its own (true negative)',
      {
        ...HOST_PID,
        ...NET_DEV,
        'proc/7/ns/net': { link: 'net:[4026532573]' },
        'proc/1/ns/net': { link: 'net:[4026531840]' },
      },
      'ok',
      ['interfaces: lo, eth0 (no bridge, CNI or veth interface)'],
    ],
    [
      'its own PID namespace (PID 1 is the container’s init: nothing to compare)',
      { ...OWN_PID, ...NET_DEV },
      'ok',
      ['interfaces: lo, eth0 (no bridge, CNI or veth interface)'],
    ],
    [
      'the host PID namespace with /proc/1/ns/net unreadable',
      { ...HOST_PID, ...NET_DEV, 'proc/7/ns/net': { link: 'net:[4026532573]' } },
      'unknown',
      ['cannot read /proc/1/ns/net (ENOENT)'],
    ],
    [
      'an unreadable PID namespace and /proc/1/ns/net unreadable',
      { ...NET_DEV, 'proc/7/ns/net': { link: 'net:[4026532573]' } },
      'unknown',
      ['cannot read /proc/1/ns/net (ENOENT)'],
    ],
    ['an unreadable net/dev', { ...OWN_PID }, 'unknown', ['cannot read /proc/self/net/dev (ENOENT)']],
  ])('%s', (_case, files, status, evidence) => {
    expect(checkOf({ ...SELF, ...files }, 'HOST_NETWORK_NAMESPACE')).toMatchObject({ status, evidence });
  });
});

describe('PROC_SYS_WRITABLE', () => {
  const mountinfo = (procSys: string): string =>
    `1 0 0:50 / / ro - overlay overlay ro\n2 1 0:55 / /proc rw,nosuid - proc proc rw\n${procSys}`;

  it.each<[string, TreeSpec, Readonly<Record<string, AccessResult>>, string, string]>([
    [
      'a read-write /proc with core_pattern writable (true positive)',
      { 'proc/7/mountinfo': mountinfo(''), 'proc/sys/kernel/core_pattern': 'core\n' },
      { '/proc/sys/kernel/core_pattern': 'yes' },
      'finding',
      'critical',
    ],
    [
      'a read-write /proc with nothing writable by this process',
      { 'proc/7/mountinfo': mountinfo(''), 'proc/sys/kernel/core_pattern': 'core\n' },
      { '/proc/sys/kernel/core_pattern': 'no' },
      'finding',
      'low',
    ],
    [
      '/proc/sys remounted read-only, as runtimes do (true negative)',
      {
        'proc/7/mountinfo': mountinfo('3 2 0:55 /sys /proc/sys ro,nosuid - proc proc rw\n'),
        'proc/sys/kernel/core_pattern': 'core\n',
      },
      { '/proc/sys/kernel/core_pattern': 'yes' },
      'ok',
      'info',
    ],
    [
      'a read-write /proc where the sysctls cannot be checked',
      { 'proc/7/mountinfo': mountinfo(''), 'proc/sys/kernel/core_pattern': 'core\n' },
      { '/proc/sys/kernel/core_pattern': { error: 'EIO' } },
      'unknown',
      'critical',
    ],
    ['an unreadable mountinfo', {}, {}, 'unknown', 'critical'],
  ])('%s', (_case, files, answers, status, severity) => {
    const inputs = readInputs(tree({ ...SELF, ...files }));
    const view: HostView = {
      ...inputs.view,
      canWrite: (path) => (Object.hasOwn(answers, path) ? (answers[path] as AccessResult) : inputs.view.canWrite(path)),
    };
    const outcome = checkProcSysWritable({ ...inputs, view });
    expect(outcome.status).toBe(status);
    if (status === 'finding') expect(outcome.severity).toBe(severity);
    if (status === 'unknown') expect(CATALOG.PROC_SYS_WRITABLE.worstCase).toBe(severity);
  });
});

describe('readability as the kernel decides it', () => {
  it('opens the file: a FIFO at a checked path neither blocks nor counts as unreadable', () => {
    const root = tree({ ...SELF, etc: { dir: true } });
    const made = spawnSync('mkfifo', [join(root, 'etc/shadow')]);
    expect(made.status).toBe(0);
    expect(readInputs(root).view.canRead('/etc/shadow')).toBe('yes');
  });
});

describe('container detection', () => {
  it.each<[string, TreeSpec, string | undefined]>([
    ['a Docker cgroup (v1)', { 'proc/7/cgroup': '12:pids:/docker/3f2a\n' }, 'docker'],
    ['a CRI-O scope', { 'proc/7/cgroup': '0::/system.slice/crio-3f2a.scope\n' }, 'cri-o'],
    ['an LXC payload', { 'proc/7/cgroup': '0::/lxc.payload.web\n' }, 'lxc'],
    ['container= in PID 1’s environment', { 'proc/1/environ': 'PATH=/bin\0container=podman\0HOME=/\0' }, 'podman'],
    [
      'the runtime’s bind mounts',
      {
        'proc/7/mountinfo':
          '1 0 0:5 / / rw - ext4 /dev/sda1 rw\n2 1 8:1 /var/lib/docker/containers/a/hosts /etc/hosts rw - ext4 /dev/sda1 rw\n',
      },
      'docker',
    ],
    [
      'two weak signs (a marker file and an overlay root)',
      { 'run/.containerenv': '', 'proc/7/mountinfo': '1 0 0:50 / / rw - overlay overlay rw\n' },
      'podman',
    ],
  ])('says yes on %s', (_case, files, runtime) => {
    const { container } = auditContainer({ root: tree({ ...SELF, ...files }) });
    expect(container.status).toBe('yes');
    expect(container.runtime).toBe(runtime);
  });

  // a marker file is a file anyone can create, and an overlay root is also how live systems boot
  it.each<[string, TreeSpec]>([
    ['Podman’s marker alone', { 'run/.containerenv': '' }],
    ['/.dockerenv alone', { '.dockerenv': '' }],
    ['an overlay root alone', { 'proc/7/mountinfo': '1 0 0:50 / / rw - overlay overlay rw\n' }],
    ['/run/systemd/container alone', { 'run/systemd/container': 'systemd-nspawn\n' }],
  ])('says unknown on %s', (_case, files) => {
    const { container } = auditContainer({ root: tree({ ...SELF, 'proc/7/cgroup': '0::/\n', ...files }) });
    expect(container.status).toBe('unknown');
    expect(container.evidence.at(-1)).toBe('one weak sign only: not enough to say');
  });

  it('keeps only container= from PID 1’s environment', () => {
    const { container } = auditContainer({
      root: tree({ ...SELF, 'proc/1/environ': 'SECRET=hunter2\0container=docker\0' }),
    });
    expect(JSON.stringify(container)).not.toContain('hunter2');
    expect(container.evidence).toEqual(['PID 1 has container=docker']);
  });

  it('says no on a host with none of the signs', () => {
    const { container } = auditContainer({
      root: tree({ ...SELF, 'proc/7/cgroup': '0::/user.slice\n', 'proc/1/environ': 'PATH=/bin\0' }),
    });
    expect(container.status).toBe('no');
  });
});

describe('access checks', () => {
  it('reports a token that is present but not readable as low', () => {
    const path = '/var/run/secrets/kubernetes.io/serviceaccount/token';
    const inputs = inputsWithAccess({ 'var/run/secrets/kubernetes.io/serviceaccount/token': 't' }, { [path]: 'no' });
    expect(checkServiceAccountToken(inputs)).toEqual({
      status: 'finding',
      severity: 'low',
      evidence: [`${path} is present (not readable by this process)`],
    });
  });

  it('is ok when the traversal targets exist but are refused', () => {
    const inputs = inputsWithAccess(
      { ...SELF, 'etc/shadow': 'x', 'proc/1/environ': 'x' },
      { '/etc/shadow': 'no', '/proc/1/environ': 'no' },
    );
    expect(checkHostFilesReadable(inputs)).toEqual({
      status: 'ok',
      severity: 'info',
      evidence: ['not readable: /etc/shadow, /proc/1/environ'],
    });
  });

  it('skips PID 1’s files when this process is PID 1', () => {
    const inputs = readInputs(tree({ 'proc/self': { link: '1' }, 'proc/1/environ': 'x' }));
    expect(checkHostFilesReadable(inputs).status).toBe('ok');
  });

  it('skips PID 1’s files when PID 1 is the container’s own init (docker run --init)', () => {
    const inputs = readInputs(
      tree({
        ...SELF,
        'proc/7/ns/pid': { link: 'pid:[4026532570]' },
        'proc/1/environ': 'x',
        'proc/1/root/etc': { dir: true },
      }),
    );
    expect(checkHostFilesReadable(inputs).status).toBe('ok');
  });

  it('checks PID 1’s files in the host PID namespace', () => {
    const inputs = readInputs(tree({ ...SELF, 'proc/7/ns/pid': { link: 'pid:[4026531836]' }, 'proc/1/environ': 'x' }));
    expect(checkHostFilesReadable(inputs)).toMatchObject({
      status: 'finding',
      evidence: ['readable: /proc/1/environ'],
    });
  });

  it('says unknown when access fails for another reason', () => {
    const inputs = inputsWithAccess({ ...SELF }, { '/etc/shadow': { error: 'EIO' } });
    expect(checkHostFilesReadable(inputs)).toMatchObject({
      status: 'unknown',
      evidence: ['cannot check /etc/shadow (EIO)'],
    });
  });
});

describe('SANDBOX_ROOT_EXPOSED', () => {
  const spec: TreeSpec = { ...HARDENED_CONTAINER, 'etc/app': { dir: true }, 'srv/other': { dir: true } };

  it('is not part of the report without sandboxRoots', () => {
    expect(auditContainer({ root: tree(spec) }).checks.map((c) => c.id)).not.toContain('SANDBOX_ROOT_EXPOSED');
  });

  it('reports a readable parent as low', () => {
    const found = auditContainer({ root: tree(spec), sandboxRoots: ['/srv/files'] }).checks.at(-1);
    expect(found).toMatchObject({
      id: 'SANDBOX_ROOT_EXPOSED',
      status: 'finding',
      severity: 'low',
      evidence: ['parent /srv of /srv/files is readable'],
    });
  });

  it('is ok when the parent is not readable', () => {
    const inputs = inputsWithAccess(spec, { '/srv': 'no' });
    expect(checkSandboxRoots(inputs, ['/srv/files'])).toEqual({
      status: 'ok',
      severity: 'info',
      evidence: ['/srv/files: not a system or host path, parent not readable'],
    });
  });

  // one rule with createSandbox: what the sandbox refuses as a root is what the audit reports, and nothing else
  it.each([
    ['/', "the host's whole filesystem"],
    ['/etc', "the host's configuration (shadow, keys)"],
    ['/etc/', "the host's configuration (shadow, keys)"],
    ['/proc/1', 'procfs (other processes, /proc/<pid>/root)'],
  ])('reports host path %s as high', (sandboxRoot, what) => {
    const inputs = inputsWithAccess({ ...spec, 'proc/1/x': '' }, { '/': 'no', '/etc': 'no', '/proc': 'no' });
    const shown = sandboxRoot === '/' ? '/' : sandboxRoot.replace(/\/$/, '');
    expect(checkSandboxRoots(inputs, [sandboxRoot])).toMatchObject({
      status: 'finding',
      severity: 'high',
      evidence: [`${shown} is a host path: ${what}`],
    });
  });

  it.each([['/etc/app'], ['/etc/tls']])('accepts %s, a directory below /etc (a secret volume)', (sandboxRoot) => {
    const inputs = inputsWithAccess({ ...spec, 'etc/tls': { dir: true } }, { '/etc': 'no' });
    expect(checkSandboxRoots(inputs, [sandboxRoot])).toMatchObject({ status: 'ok' });
  });

  it('reports a sandbox root on a host mount with the mount’s severity', () => {
    const inputs = inputsWithAccess(
      {
        ...SELF,
        'proc/7/mountinfo': '1 0 0:50 / / ro - overlay overlay ro\n2 1 8:1 /etc /data/etc ro - ext4 /dev/sda1 rw\n',
        'data/etc/conf': { dir: true },
      },
      { '/data/etc': 'no' },
    );
    expect(checkSandboxRoots(inputs, ['/data/etc/conf'])).toEqual({
      status: 'finding',
      severity: 'high',
      evidence: ['/data/etc/conf is on a host mount: /data/etc: host /etc [ext4 /etc]'],
    });
  });

  it('treats a trailing slash as the same directory', () => {
    const inputs = inputsWithAccess(spec, { '/srv': 'no' });
    expect(checkSandboxRoots(inputs, ['/srv/files/'])).toMatchObject({
      status: 'ok',
      evidence: ['/srv/files: not a system or host path, parent not readable'],
    });
  });

  it('says unknown when a sandbox root does not exist', () => {
    const inputs = inputsWithAccess(spec, {});
    expect(checkSandboxRoots(inputs, ['/srv/missing'])).toEqual({
      status: 'unknown',
      severity: 'info',
      evidence: ['cannot stat sandbox root /srv/missing (ENOENT)'],
    });
  });
});

describe('createHostView', () => {
  it('refuses files larger than any /proc file it parses', () => {
    const root = tree({ 'big.txt': 'x'.repeat(4 * 1024 * 1024 + 1) });
    expect(createHostView(root).readText('/big.txt')).toEqual({ ok: false, error: 'EFBIG' });
  });
});
