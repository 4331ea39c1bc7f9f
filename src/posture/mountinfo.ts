/**
 * A parser for `/proc/<pid>/mountinfo` (proc(5)): one mount per line,
 * `id parent major:minor root mountpoint options [optional…] - fstype source superoptions`.
 */

/**
 * One mount, as the kernel reports it.
 */
export interface MountEntry {
  readonly id: string;
  readonly parentId: string;
  /** `major:minor` of the device the mount comes from (the same for every bind mount of one filesystem). */
  readonly device: string;
  /** The path inside the source filesystem that is mounted (`/` for a whole filesystem, a sub-path for a bind). */
  readonly root: string;
  /** Where it is mounted, relative to the process's root. */
  readonly mountPoint: string;
  /** Per-mount options (`rw`/`ro`, `nosuid`, …). */
  readonly options: readonly string[];
  readonly fsType: string;
  readonly source: string;
  readonly superOptions: readonly string[];
}

// proc(5): space, tab, newline and backslash in paths are written as octal escapes
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * Parses mountinfo text. Lines that do not have the documented shape are skipped and counted, so a caller can tell
 * a partial parse from a clean one.
 */
export function parseMountinfo(text: string): { readonly mounts: readonly MountEntry[]; readonly malformed: number } {
  const mounts: MountEntry[] = [];
  let malformed = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    const [id, parentId, device, root, mountPoint, options] = fields;
    const fsType = fields[separator + 1];
    const source = fields[separator + 2];
    if (
      separator < 0 ||
      id === undefined ||
      parentId === undefined ||
      device === undefined ||
      root === undefined ||
      mountPoint === undefined ||
      options === undefined ||
      fsType === undefined ||
      source === undefined
    ) {
      malformed += 1;
      continue;
    }
    mounts.push({
      id,
      parentId,
      device,
      root: unescapeOctal(root),
      mountPoint: unescapeOctal(mountPoint),
      options: options.split(','),
      fsType,
      source: unescapeOctal(source),
      superOptions: (fields[separator + 3] ?? '').split(','),
    });
  }
  return { mounts, malformed };
}

/**
 * The mount that is visible at `path`: the last one mounted exactly there (later mounts hide earlier ones).
 */
export function mountAt(mounts: readonly MountEntry[], path: string): MountEntry | undefined {
  let found: MountEntry | undefined;
  for (const mount of mounts) if (mount.mountPoint === path) found = mount;
  return found;
}

/**
 * The mount a path lives on: the longest mount point that contains it.
 */
export function mountContaining(mounts: readonly MountEntry[], path: string): MountEntry | undefined {
  let found: MountEntry | undefined;
  for (const mount of mounts) {
    const point = mount.mountPoint;
    const contains = point === '/' || path === point || path.startsWith(`${point}/`);
    if (contains && (found === undefined || point.length >= found.mountPoint.length)) found = mount;
  }
  return found;
}
