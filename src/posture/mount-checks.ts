/**
 * Checks on the mount table (`/proc/self/mountinfo`) and the runtime sockets: a writable root filesystem, host paths
 * mounted in, and a reachable container runtime API.
 */
import { basename } from 'node:path';
import { capabilityNames, parseCapabilityMask } from './capabilities.js';
import { type AuditInputs, cannotRead, finding, type Outcome, ok, unknown } from './inputs.js';
import { type MountEntry, mountAt, mountContaining } from './mountinfo.js';
import { maxSeverity } from './severity.js';
import type { PostureSeverity } from './types.js';

/** Where runtimes keep a container's own files on the host; a bind from there is the container's, not the host's. */
const CONTAINER_STATE_PREFIXES = [
  '/var/lib/docker/containers/',
  '/var/lib/docker/volumes/',
  '/var/lib/kubelet/pods/',
  '/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/',
  '/var/lib/containerd/io.containerd.grpc.v1.cri/containers/',
  '/var/lib/containers/storage/overlay-containers/',
  '/var/lib/containers/storage/volumes/',
  '/var/lib/rancher/k3s/agent/containerd/',
  '/run/containers/',
  '/var/run/containers/',
];

/** Host directories that must never be visible to a service, by the path inside their filesystem. */
const HOST_PATH_RULES: readonly {
  readonly prefix: string;
  readonly severity: PostureSeverity;
  readonly what: string;
}[] = [
  { prefix: '/etc', severity: 'high', what: 'host /etc' },
  { prefix: '/var/lib/kubelet', severity: 'critical', what: 'kubelet state (credentials of every pod)' },
  { prefix: '/var/lib/docker', severity: 'critical', what: 'Docker state' },
  { prefix: '/var/lib/containerd', severity: 'critical', what: 'containerd state' },
  { prefix: '/var/lib/containers', severity: 'critical', what: 'Podman/CRI-O state' },
  { prefix: '/etc/kubernetes', severity: 'critical', what: 'Kubernetes node credentials' },
  { prefix: '/root', severity: 'high', what: "the host root user's home" },
  { prefix: '/home', severity: 'medium', what: 'host home directories' },
  { prefix: '/boot', severity: 'high', what: 'host kernel and boot files' },
  { prefix: '/lib/modules', severity: 'medium', what: 'host kernel modules' },
  { prefix: '/var/log', severity: 'medium', what: 'host logs' },
];

/** Kernel-virtual filesystems whose `root` field is not a host directory. */
const VIRTUAL_FS = new Set([
  'proc',
  'sysfs',
  'cgroup',
  'cgroup2',
  'devpts',
  'mqueue',
  'tmpfs',
  'devtmpfs',
  'overlay',
  'securityfs',
  'debugfs',
  'tracefs',
  'bpf',
  'nsfs',
  'hugetlbfs',
  'fusectl',
  'configfs',
  'pstore',
  'binfmt_misc',
  'autofs',
  'efivarfs',
  'shm',
]);

/** Device nodes rootless runtimes bind from the host's /dev (and over masked /proc files): no data behind them. */
const HARMLESS_DEVICES = new Set([
  '/null',
  '/zero',
  '/full',
  '/random',
  '/urandom',
  '/tty',
  '/console',
  '/ptmx',
  '/fuse',
  '/net/tun',
]);

/** File names of container runtime API sockets. */
const RUNTIME_SOCKET_NAMES = new Set([
  'docker.sock',
  'containerd.sock',
  'crio.sock',
  'podman.sock',
  'dockershim.sock',
  'cri-dockerd.sock',
  'frakti.sock',
]);

/** Where runtime sockets live by default. */
const RUNTIME_SOCKET_PATHS = [
  '/var/run/docker.sock',
  '/run/docker.sock',
  '/run/containerd/containerd.sock',
  '/var/run/containerd/containerd.sock',
  '/run/k3s/containerd/containerd.sock',
  '/run/crio/crio.sock',
  '/var/run/crio/crio.sock',
  '/run/podman/podman.sock',
  '/var/run/dockershim.sock',
  '/var/run/cri-dockerd.sock',
];

function underPath(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * One mounted host path: where it is, what it is and how bad.
 */
export interface HostMount {
  readonly mount: MountEntry;
  readonly severity: PostureSeverity;
  readonly description: string;
}

/**
 * The devices the host's own disk is on: the device of any bind mount of a runtime's per-container files (the
 * `/etc/hosts` Docker and the kubelet bind in). A whole-filesystem mount (`root` `/`) of one of them is the host root.
 */
function hostDiskDevices(mounts: readonly MountEntry[]): ReadonlySet<string> {
  const devices = new Set<string>();
  for (const mount of mounts) {
    if (CONTAINER_STATE_PREFIXES.some((prefix) => mount.root.startsWith(prefix))) devices.add(mount.device);
  }
  return devices;
}

/**
 * Classifies every mount that exposes the host; the container's own root mount is never one.
 */
export function findHostMounts(mounts: readonly MountEntry[]): HostMount[] {
  const hostDisks = hostDiskDevices(mounts);
  const found: HostMount[] = [];
  const add = (mount: MountEntry, severity: PostureSeverity, what: string): void => {
    const from = mount.root === '/' ? mount.fsType : `${mount.fsType} ${mount.root}`;
    found.push({ mount, severity, description: `${mount.mountPoint}: ${what} [${from}]` });
  };
  for (const mount of mounts) {
    const point = mount.mountPoint;
    if (point === '/') continue;
    if (mount.fsType === 'proc' && !underPath(point, '/proc')) {
      add(mount, 'high', 'a second procfs (the host /proc if the host mounted it)');
    } else if (mount.fsType === 'sysfs' && !underPath(point, '/sys')) {
      add(mount, 'high', 'a second sysfs');
    } else if (mount.fsType === 'sysfs' && point === '/sys' && !mount.options.includes('ro')) {
      // Docker and containerd mount /sys read-only unless the container is privileged
      add(mount, 'medium', 'sysfs mounted read-write');
    } else if (mount.fsType === 'devtmpfs' && mount.root === '/') {
      // container runtimes give /dev a tmpfs; devtmpfs is the kernel's full device tree (disks included)
      add(mount, 'high', "the kernel's device tree (devtmpfs): host disks are device files here");
    } else if (mount.fsType === 'devtmpfs' && !HARMLESS_DEVICES.has(mount.root)) {
      add(mount, 'high', 'a host device node');
    } else if (!VIRTUAL_FS.has(mount.fsType)) {
      if (CONTAINER_STATE_PREFIXES.some((prefix) => mount.root.startsWith(prefix))) continue;
      if (mount.root === '/' && hostDisks.has(mount.device)) {
        add(mount, 'critical', 'the host root filesystem');
        continue;
      }
      const rule = HOST_PATH_RULES.filter((candidate) => underPath(mount.root, candidate.prefix)).sort(
        (a, b) => b.prefix.length - a.prefix.length,
      )[0];
      if (rule !== undefined) add(mount, rule.severity, rule.what);
    }
  }
  return found;
}

/**
 * The root mount is read-only.
 */
export function checkRootfsWritable(inputs: AuditInputs): Outcome {
  if (!inputs.mounts.ok) return unknown(cannotRead('/proc/self/mountinfo', inputs.mounts.error));
  const root = mountAt(inputs.mounts.mounts, '/');
  if (root === undefined) return unknown('/proc/self/mountinfo lists no mount at /');
  const described = `/ is ${root.fsType} (${root.source}) mounted`;
  if (root.options.includes('ro') || root.superOptions.includes('ro')) return ok(`${described} ro`);
  return finding('medium', [`${described} ${root.options.join(',')}`]);
}

/**
 * No host directory, procfs, sysfs or device tree is mounted in.
 */
export function checkHostPathMounted(inputs: AuditInputs): Outcome {
  if (!inputs.mounts.ok) return unknown(cannotRead('/proc/self/mountinfo', inputs.mounts.error));
  const hostMounts = findHostMounts(inputs.mounts.mounts);
  const partial = inputs.mounts.malformed > 0 ? [`${inputs.mounts.malformed} mountinfo line(s) not understood`] : [];
  if (hostMounts.length === 0) {
    // a table we could not fully parse might hide a host mount
    if (partial.length > 0) return unknown(...partial);
    return ok(`${inputs.mounts.mounts.length} mounts, none from a host path`);
  }
  let severity: PostureSeverity = 'info';
  for (const hostMount of hostMounts) severity = maxSeverity(severity, hostMount.severity);
  return finding(severity, [...hostMounts.map((hostMount) => hostMount.description), ...partial]);
}

/**
 * No container runtime socket is mounted or present at its default path. A socket this process may not write (connect
 * to) is high rather than critical: it is still reachable after a privilege gain.
 */
export function checkRuntimeSocket(inputs: AuditInputs): Outcome {
  const evidence: string[] = [];
  const unreadable: string[] = [];
  let severity: PostureSeverity = 'info';
  const seen = new Set<string>();
  // access(2) answers for the real UID without capabilities: CAP_DAC_OVERRIDE connects to a socket it says no to
  const effective = inputs.status.ok ? parseCapabilityMask(inputs.status.fields.get('CapEff')) : undefined;
  const overridesDac = effective === undefined || capabilityNames(effective).includes('DAC_OVERRIDE');
  const rate = (path: string, observed: string): void => {
    const access = inputs.view.canWrite(path);
    // connect(2) on a unix socket needs write permission on it; an unanswerable access check counts as reachable
    const reachable = access !== 'no' || overridesDac;
    evidence.push(`${observed}${reachable ? '' : ' (not writable by this process)'}`);
    severity = maxSeverity(severity, reachable ? 'critical' : 'high');
  };
  if (inputs.mounts.ok) {
    for (const mount of inputs.mounts.mounts) {
      if (RUNTIME_SOCKET_NAMES.has(basename(mount.root)) || RUNTIME_SOCKET_NAMES.has(basename(mount.mountPoint))) {
        seen.add(mount.mountPoint);
        rate(mount.mountPoint, `${mount.mountPoint}: runtime socket mounted from ${mount.root}`);
      }
    }
  } else {
    unreadable.push(cannotRead('/proc/self/mountinfo', inputs.mounts.error));
  }
  for (const path of RUNTIME_SOCKET_PATHS) {
    if (seen.has(path)) continue;
    const stat = inputs.view.stat(path);
    if (stat.ok) {
      if (stat.stats.isSocket()) rate(path, `${path}: a socket is present`);
    } else if (stat.error !== 'ENOENT' && stat.error !== 'ENOTDIR' && stat.error !== 'EACCES') {
      // EACCES: the directory cannot be searched, so the socket cannot be connected to either
      unreadable.push(`cannot stat ${path} (${stat.error})`);
    }
  }
  if (evidence.length > 0) return finding(severity, evidence);
  if (unreadable.length > 0) return unknown(...unreadable);
  return ok('no runtime socket mounted or at its default path');
}

/** Sysctls that run a program as host root or change the whole host: the first targets of a writable `/proc/sys`. */
const HOST_SYSCTLS: readonly { readonly path: string; readonly severity: PostureSeverity }[] = [
  // core(5): a "|program" pattern is run by the kernel as host root on the next crash, in the host's namespaces
  { path: '/proc/sys/kernel/core_pattern', severity: 'critical' },
  // the usermode helper the kernel runs (as host root) to load a module
  { path: '/proc/sys/kernel/modprobe', severity: 'critical' },
  { path: '/proc/sys/kernel/sysrq', severity: 'high' },
  { path: '/proc/sys/vm/panic_on_oom', severity: 'high' },
];

/**
 * `/proc/sys` is read-only (runtimes remount it `ro`); on a read-write mount, which host sysctls this process may
 * write. `access(2)` with `W_OK` only: nothing is opened for writing.
 */
export function checkProcSysWritable(inputs: AuditInputs): Outcome {
  if (!inputs.mounts.ok) return unknown(cannotRead('/proc/self/mountinfo', inputs.mounts.error));
  const mount = mountContaining(inputs.mounts.mounts, '/proc/sys');
  if (mount === undefined || mount.fsType !== 'proc') {
    return unknown(`no procfs mount covers /proc/sys in /proc/self/mountinfo`);
  }
  const seen = `${mount.mountPoint} (proc) mounted ${mount.options.join(',')}`;
  if (mount.options.includes('ro') || mount.superOptions.includes('ro')) return ok(`/proc/sys: ${seen}`);
  const writable: string[] = [];
  const refused: string[] = [];
  const errors: string[] = [];
  let severity: PostureSeverity = 'low';
  for (const sysctl of HOST_SYSCTLS) {
    const access = inputs.view.canWrite(sysctl.path);
    if (access === 'yes') {
      writable.push(sysctl.path);
      severity = maxSeverity(severity, sysctl.severity);
    } else if (access === 'no') {
      refused.push(sysctl.path);
    } else if (access !== 'missing') {
      errors.push(`cannot check ${sysctl.path} (${access.error})`);
    }
  }
  const evidence = [`/proc/sys is on a read-write mount: ${seen}`];
  if (writable.length > 0) evidence.push(`writable by this process: ${writable.join(', ')}`);
  if (refused.length > 0) evidence.push(`not writable by this process: ${refused.join(', ')}`);
  // read-write but nothing writable now: one privilege gain away (low); an unanswerable check may hide more
  if (writable.length === 0 && errors.length > 0) return unknown(...evidence, ...errors);
  return finding(severity, [...evidence, ...errors]);
}
