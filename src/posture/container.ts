/**
 * Whether the process runs in a container, from marker files, cgroup paths, PID 1's `container=` variable and the
 * mount table. Reported with its evidence, never assumed: one weak sign alone says `unknown`.
 */
import type { AuditInputs } from './inputs.js';
import type { ContainerDetection } from './types.js';

/** cgroup path fragments and mount roots that name a runtime, most specific first. */
const RUNTIME_SIGNS: readonly { readonly pattern: RegExp; readonly runtime: string }[] = [
  { pattern: /kubepods|\/var\/lib\/kubelet\/pods\//, runtime: 'kubernetes' },
  { pattern: /libpod|\/var\/lib\/containers\/storage\/|\/run\/containers\/storage\//, runtime: 'podman' },
  { pattern: /crio-/, runtime: 'cri-o' },
  { pattern: /docker|\/var\/lib\/docker\//, runtime: 'docker' },
  { pattern: /containerd/, runtime: 'containerd' },
  { pattern: /\/lxc\/|lxc\.payload/, runtime: 'lxc' },
];

/** Marker files runtimes create in the container's root: anyone can create one, so each is a weak sign. */
const MARKER_FILES: readonly { readonly path: string; readonly runtime: string }[] = [
  { path: '/var/run/secrets/kubernetes.io', runtime: 'kubernetes' },
  { path: '/run/.containerenv', runtime: 'podman' },
  { path: '/.dockerenv', runtime: 'docker' },
];

/** Files every runtime bind-mounts into a container. */
const RUNTIME_BIND_TARGETS = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);

/** Root filesystem types that are container image layers (also live-CD roots: a weak sign). */
const IMAGE_FS_TYPES = new Set(['overlay', 'aufs', 'fuse-overlayfs', 'fuse.fuse-overlayfs']);

/** The largest `container=` value kept from an environment (systemd's values are short names). */
const MAX_CONTAINER_VALUE = 40;

interface Sign {
  readonly evidence: string;
  /** Strong: set up by the kernel or the runtime, not a file anyone can create. */
  readonly strong: boolean;
  readonly runtime?: string;
}

/** `container=<name>` from an environment block (NUL-separated), the convention of systemd and runtimes. */
function containerVariable(environ: string): string | undefined {
  const entry = environ.split('\0').find((item) => item.startsWith('container='));
  return entry?.slice('container='.length, 'container='.length + MAX_CONTAINER_VALUE);
}

function runtimeOf(text: string): string | undefined {
  return RUNTIME_SIGNS.find((sign) => sign.pattern.test(text))?.runtime;
}

function collectSigns(inputs: AuditInputs): { signs: Sign[]; cgroupReadable: boolean } {
  const signs: Sign[] = [];
  for (const marker of MARKER_FILES) {
    if (inputs.view.lstat(marker.path).ok) {
      signs.push({ evidence: `${marker.path} exists`, strong: false, runtime: marker.runtime });
    }
  }
  // systemd-nspawn and other systemd-aware runtimes write the runtime's name here (systemd's CONTAINER_INTERFACE)
  const systemdMarker = inputs.view.readText('/run/systemd/container');
  if (systemdMarker.ok && systemdMarker.text.trim() !== '') {
    const name = systemdMarker.text.trim().slice(0, MAX_CONTAINER_VALUE);
    signs.push({ evidence: `/run/systemd/container: ${name}`, strong: false, runtime: runtimeOf(name) ?? name });
  }
  const cgroup = inputs.view.readText('/proc/self/cgroup');
  if (cgroup.ok) {
    for (const sign of RUNTIME_SIGNS) {
      const line = cgroup.text.split('\n').find((candidate) => sign.pattern.test(candidate));
      if (line !== undefined) {
        signs.push({ evidence: `/proc/self/cgroup: ${line.trim()}`, strong: true, runtime: sign.runtime });
        break;
      }
    }
  }
  // the runtime sets container= in the environment of the container's init; only that variable is kept
  const pid1Environ = inputs.view.readText('/proc/1/environ');
  const self = inputs.view.readLink('/proc/self');
  if (pid1Environ.ok) {
    const value = containerVariable(pid1Environ.text);
    if (value !== undefined && value !== '') {
      const who = self.ok && self.text === '1' ? 'this process (PID 1)' : 'PID 1';
      signs.push({ evidence: `${who} has container=${value}`, strong: true, runtime: runtimeOf(value) ?? value });
    }
  }
  if (inputs.mounts.ok) {
    const root = inputs.mounts.mounts.findLast((mount) => mount.mountPoint === '/');
    if (root !== undefined && IMAGE_FS_TYPES.has(root.fsType)) {
      signs.push({ evidence: `/ is ${root.fsType} (an image layer)`, strong: false });
    }
    const binds = inputs.mounts.mounts.filter((mount) => RUNTIME_BIND_TARGETS.has(mount.mountPoint));
    if (binds.length > 0) {
      const runtime = binds.map((mount) => runtimeOf(mount.root)).find((name) => name !== undefined);
      signs.push({
        evidence: `runtime bind mounts: ${binds.map((mount) => `${mount.mountPoint} from ${mount.root}`).join(', ')}`,
        strong: binds.some((mount) => runtimeOf(mount.root) !== undefined),
        ...(runtime === undefined ? {} : { runtime }),
      });
    }
  }
  return { signs, cgroupReadable: cgroup.ok };
}

/** Orchestrators before the runtimes they run on. */
const RUNTIME_ORDER = ['kubernetes', 'podman', 'cri-o', 'docker', 'containerd', 'lxc'];

/**
 * Detects a container and, when the signs say which, its runtime. One sign set up by the kernel or the runtime
 * (a runtime's cgroup path, the runtime's bind mounts, `container=` in PID 1's environment) is enough; weak signs
 * (a marker file, an overlay root, `/run/systemd/container`) need a second sign, alone they make the answer
 * `unknown`.
 */
export function detectContainer(inputs: AuditInputs): ContainerDetection {
  const { signs, cgroupReadable } = collectSigns(inputs);
  const evidence = signs.map((sign) => sign.evidence);
  if (signs.length === 0) {
    if (!cgroupReadable && !inputs.mounts.ok) {
      return { status: 'unknown', evidence: ['cannot read /proc/self/cgroup or /proc/self/mountinfo'] };
    }
    return {
      status: 'no',
      evidence: ['no container marker file, cgroup path, runtime bind mount or container= of PID 1'],
    };
  }
  if (signs.length === 1 && signs[0]?.strong !== true) {
    return { status: 'unknown', evidence: [...evidence, 'one weak sign only: not enough to say'] };
  }
  const runtimes = signs.map((sign) => sign.runtime);
  const runtime = RUNTIME_ORDER.find((name) => runtimes.includes(name)) ?? runtimes.find((name) => name !== undefined);
  return runtime === undefined ? { status: 'yes', evidence } : { status: 'yes', runtime, evidence };
}
