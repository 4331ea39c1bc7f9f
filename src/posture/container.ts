/**
 * Whether the process runs in a container, from marker files, cgroup paths and the mount table. Reported with its
 * evidence, never assumed.
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

/** Marker files runtimes create in the container's root. */
const MARKER_FILES: readonly { readonly path: string; readonly runtime: string }[] = [
  { path: '/var/run/secrets/kubernetes.io', runtime: 'kubernetes' },
  { path: '/run/.containerenv', runtime: 'podman' },
  { path: '/.dockerenv', runtime: 'docker' },
];

/** Files every runtime bind-mounts into a container. */
const RUNTIME_BIND_TARGETS = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);

/** Root filesystem types that are container image layers. */
const IMAGE_FS_TYPES = new Set(['overlay', 'aufs', 'fuse-overlayfs', 'fuse.fuse-overlayfs']);

/**
 * Detects a container and, when the signs say which, its runtime.
 *
 * @example
 * ```ts
 * detectContainer(readInputs('/')); // { status: 'yes', runtime: 'docker', evidence: ['/.dockerenv exists'] }
 * ```
 */
export function detectContainer(inputs: AuditInputs): ContainerDetection {
  const evidence: string[] = [];
  const runtimes: string[] = [];
  for (const marker of MARKER_FILES) {
    if (inputs.view.lstat(marker.path).ok) {
      evidence.push(`${marker.path} exists`);
      runtimes.push(marker.runtime);
    }
  }
  const cgroup = inputs.view.readText('/proc/self/cgroup');
  if (cgroup.ok) {
    for (const sign of RUNTIME_SIGNS) {
      const line = cgroup.text.split('\n').find((candidate) => sign.pattern.test(candidate));
      if (line !== undefined) {
        evidence.push(`/proc/self/cgroup: ${line.trim()}`);
        runtimes.push(sign.runtime);
        break;
      }
    }
  }
  if (inputs.mounts.ok) {
    const root = inputs.mounts.mounts.findLast((mount) => mount.mountPoint === '/');
    if (root !== undefined && IMAGE_FS_TYPES.has(root.fsType)) evidence.push(`/ is ${root.fsType} (an image layer)`);
    const binds = inputs.mounts.mounts.filter((mount) => RUNTIME_BIND_TARGETS.has(mount.mountPoint));
    if (binds.length > 0) {
      evidence.push(
        `runtime bind mounts: ${binds.map((mount) => `${mount.mountPoint} from ${mount.root}`).join(', ')}`,
      );
      for (const sign of RUNTIME_SIGNS) {
        if (binds.some((mount) => sign.pattern.test(mount.root))) {
          runtimes.push(sign.runtime);
          break;
        }
      }
    }
  }
  if (evidence.length === 0) {
    if (!cgroup.ok && !inputs.mounts.ok) {
      return { status: 'unknown', evidence: ['cannot read /proc/self/cgroup or /proc/self/mountinfo'] };
    }
    return { status: 'no', evidence: ['no container marker file, cgroup path or runtime bind mount'] };
  }
  // kubernetes runs on a runtime: name the orchestrator when both are seen
  const runtime = ['kubernetes', 'podman', 'cri-o', 'docker', 'containerd', 'lxc'].find((name) =>
    runtimes.includes(name),
  );
  return runtime === undefined ? { status: 'yes', evidence } : { status: 'yes', runtime, evidence };
}
