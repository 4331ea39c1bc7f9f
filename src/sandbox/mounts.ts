/**
 * Startup scan of the mount table for mount points below a sandbox root. A bind mount of a host path inside the root
 * is the one escape that neither the lexical rules nor the symlink policy can see (Go's `os.Root` documents the same).
 *
 * @module sandbox/mounts
 */
import { readFile } from 'node:fs/promises';

// mountinfo escapes space, tab, newline and backslash as octal (\040, \011, \012, \134).
const unescapeMountPath = (field: string): string =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));

/**
 * Returns the mount points strictly below `realRoot`, relative to it, from a `/proc/<pid>/mountinfo` file.
 *
 * @example
 * ```ts
 * await mountsBelow('/srv/files'); // ['uploads'] when /srv/files/uploads is a mount point
 * ```
 */
export async function mountsBelow(realRoot: string, mountinfo = '/proc/self/mountinfo'): Promise<string[]> {
  const text = await readFile(mountinfo, 'utf8');
  const prefix = realRoot === '/' ? '/' : `${realRoot}/`;
  const found = new Set<string>();
  for (const line of text.split('\n')) {
    // Field 5 (index 4) is the mount point (proc(5)).
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const mountPoint = unescapeMountPath(field);
    if (mountPoint.startsWith(prefix)) found.add(mountPoint.slice(prefix.length));
  }
  return [...found].sort();
}
