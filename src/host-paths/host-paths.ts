/**
 * The one rule for host paths that must never be a served root: used by `createSandbox` (refuses them) and by
 * `auditContainer` (reports a sandbox root that is one). A directory *below* `/etc`, `/run` or `/var/run` is fine
 * (`/etc/tls`, `/run/secrets/…` are where Kubernetes and Docker put a service's own secrets); the directory itself,
 * and anything under the kernel's interfaces or the boot files, is not.
 *
 * @module host-paths
 */
import { posix } from 'node:path';

/** Directories that expose the host as a whole: its tree, its configuration, its sockets, root's home. */
const WHOLE_HOST_DIRECTORIES: ReadonlyMap<string, string> = new Map([
  ['/', "the host's whole filesystem"],
  ['/etc', "the host's configuration (shadow, keys)"],
  ['/run', 'runtime sockets and state'],
  ['/var/run', 'runtime sockets and state'],
  ['/root', "the root user's home"],
]);

/** Trees that are host interfaces at any depth: procfs, sysfs, device nodes, kernel and boot files. */
const HOST_TREES: ReadonlyMap<string, string> = new Map([
  ['/proc', 'procfs (other processes, /proc/<pid>/root)'],
  ['/sys', 'sysfs (kernel and device interfaces)'],
  ['/dev', 'device nodes'],
  ['/boot', 'kernel and boot files'],
]);

/**
 * Why `path` must not be a served root, or `undefined` when it may be. `path` is normalised first (`//etc/`, `/etc/.`
 * are `/etc`); pass both the configured spelling and the resolved path where they can differ (`/var/run` → `/run`).
 */
export function hostPathExposure(path: string): string | undefined {
  const normalized = posix.normalize(path);
  const directory = normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
  const whole = WHOLE_HOST_DIRECTORIES.get(directory);
  if (whole !== undefined) return whole;
  for (const [tree, what] of HOST_TREES) {
    if (directory === tree || directory.startsWith(`${tree}/`)) return what;
  }
  return undefined;
}
