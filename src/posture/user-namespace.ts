/**
 * Which user namespace the process runs in, from `/proc/self/uid_map` (user_namespaces(7): lines of
 * `inside outside count`). Capabilities and UID 0 inside a user namespace act on that namespace's resources only,
 * unless some UID in it maps to host UID 0.
 */
import type { HostView } from './host-view.js';

/**
 * `initial`: the host's user namespace (`0 0 4294967295`); `maps-host-root`: a user namespace in which some UID is
 * host UID 0 (a process with CAP_SETUID there can become it); `unprivileged`: no UID in it is host root;
 * `unknown`: `uid_map` unreadable or not understood.
 */
export interface UserNamespace {
  readonly kind: 'initial' | 'maps-host-root' | 'unprivileged' | 'unknown';
  /** One fact: what `uid_map` says, or why it could not be read. */
  readonly evidence: string;
  /** For `unprivileged`: the host UID that root inside is (when root inside is mapped). */
  readonly rootOutside?: string;
}

/**
 * Reads and classifies `/proc/self/uid_map`.
 */
export function readUserNamespace(view: HostView): UserNamespace {
  const read = view.readText('/proc/self/uid_map');
  if (!read.ok) return { kind: 'unknown', evidence: `cannot read /proc/self/uid_map (${read.error})` };
  const lines = read.text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const ranges = lines.map((line) => line.split(/\s+/));
  if (ranges.length === 0 || ranges.some((fields) => fields.length !== 3 || !fields.every((f) => /^\d+$/.test(f)))) {
    return {
      kind: 'unknown',
      evidence: `/proc/self/uid_map not understood: ${JSON.stringify(read.text.slice(0, 80))}`,
    };
  }
  const shown = ranges.map((fields) => fields.join(' ')).join('; ');
  if (ranges.length === 1 && shown === '0 0 4294967295') {
    return { kind: 'initial', evidence: '/proc/self/uid_map: 0 0 4294967295 (the initial user namespace)' };
  }
  // the outside column is relative to the parent namespace; a nested one is judged by it too (fail closed)
  if (ranges.some((fields) => fields[1] === '0')) {
    return { kind: 'maps-host-root', evidence: `/proc/self/uid_map: ${shown} (host UID 0 is mapped in)` };
  }
  const rootOutside = ranges.find((fields) => fields[0] === '0')?.[1];
  return {
    kind: 'unprivileged',
    evidence: `/proc/self/uid_map: ${shown} (no UID here is host UID 0)`,
    ...(rootOutside === undefined ? {} : { rootOutside }),
  };
}
