/**
 * Mounts as the kernel sees them. A mount is identified by its mount id (proc(5) `/proc/<pid>/fdinfo/<fd>` field
 * `mnt_id:`, the id `/proc/<pid>/mountinfo` lists first), not by a device number: a bind mount of a directory of the
 * same filesystem keeps `st_dev`, yet it is a mount crossing to `openat2(RESOLVE_NO_XDEV)`, and it is how a host
 * directory (`docker run -v /:/host`) reaches a container.
 *
 * @module sandbox/mounts
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type MountEntry, parseMountinfo } from '../posture/mountinfo.js';

const MNT_ID = /^mnt_id:\s*(\d+)$/m;

/** Where the per-descriptor info lives next to the magic fd links (`/proc/self/fd` → `/proc/self/fdinfo`). */
export const fdInfoDirOf = (procFd: string): string => `${dirname(procFd)}/fdinfo`;

/**
 * The mount id of an open descriptor. Synchronous: procfs answers from kernel memory without touching a disk.
 * Throws when the field is missing (kernels before 3.15, or a `/proc` that is not procfs).
 */
export function mountIdOf(fdInfoDir: string, fd: number): number {
  const match = MNT_ID.exec(readFileSync(`${fdInfoDir}/${fd}`, 'latin1'));
  if (match === null) throw new Error(`no mnt_id in ${fdInfoDir}/${fd}`);
  return Number(match[1]);
}

/** Reads and parses a mountinfo file. */
export async function readMounts(mountInfoFile: string): Promise<readonly MountEntry[]> {
  return parseMountinfo(await readFile(mountInfoFile, 'utf8')).mounts;
}

/** The mount with this id, or `undefined` (it was unmounted, or the table belongs to another namespace). */
export const mountById = (mounts: readonly MountEntry[], id: number): MountEntry | undefined =>
  mounts.find((m) => m.id === String(id));

/** The mounts whose mount point lies strictly below `realRoot`. */
export function mountsBelow(mounts: readonly MountEntry[], realRoot: string): MountEntry[] {
  const prefix = realRoot === '/' ? '/' : `${realRoot}/`;
  return mounts.filter((m) => m.mountPoint.startsWith(prefix) && m.mountPoint !== realRoot);
}

/**
 * The path, inside the mounted filesystem, of the directory `realRoot` on mount `entry`: the mount's root field
 * (`/` for a whole filesystem, the bound sub-path for a bind mount) joined with where `realRoot` lies below the
 * mount point. `-v /:/host` with root `/host/etc` gives `/etc`.
 */
export function sourcePathOf(entry: MountEntry, realRoot: string): string {
  const below = entry.mountPoint === '/' ? realRoot : realRoot.slice(entry.mountPoint.length);
  const joined = `${entry.root === '/' ? '' : entry.root}${below}`;
  return joined === '' ? '/' : joined;
}

// Filesystems that are the kernel's or the host's own interfaces wherever they are mounted (proc(5), sysfs(5), …).
const KERNEL_FILESYSTEMS = new Set([
  'proc',
  'sysfs',
  'devtmpfs',
  'devpts',
  'cgroup',
  'cgroup2',
  'debugfs',
  'tracefs',
  'securityfs',
  'bpf',
  'configfs',
  'efivarfs',
  'pstore',
  'nsfs',
  'binfmt_misc',
]);

const MEMORY_FILESYSTEMS = new Set(['tmpfs', 'ramfs']);

/**
 * Why the mount holding `realRoot` exposes the host, or `undefined`: a kernel interface filesystem, or a
 * filesystem whose mounted source path is a host root by `isHostPath` (the same rule the root's path is held to).
 */
export function hostMountReason(
  entry: MountEntry,
  realRoot: string,
  isHostPath: (path: string) => boolean,
): string | undefined {
  if (KERNEL_FILESYSTEMS.has(entry.fsType)) return `a ${entry.fsType} filesystem`;
  const source = sourcePathOf(entry, realRoot);
  // The top of a memory filesystem is its own tree (an emptyDir, a Secret volume), not the host's `/`.
  if (MEMORY_FILESYSTEMS.has(entry.fsType) && source === '/') return undefined;
  if (isHostPath(source)) return `the host path ${source} of ${entry.source} (${entry.fsType})`;
  return undefined;
}

/** A one-line operator description of a mount (startup messages and audit events only, never responses). */
export const describeMount = (m: MountEntry): string =>
  `mount ${m.id} at ${m.mountPoint} (${m.fsType} ${m.source}, root ${m.root})`;

// Local, kernel-cached filesystems (mountinfo names) on which a walk may run synchronously; anything else
// (nfs, cifs, fuse.*, 9p, ceph, …) can block on a server and gets the threadpool.
const LOCAL_FILESYSTEMS = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'bcachefs',
  'f2fs',
  'zfs',
  'tmpfs',
  'ramfs',
  'overlay',
  'squashfs',
  'erofs',
  'vfat',
  'exfat',
  'iso9660',
]);

/** Whether every filesystem a walk below the root can reach at startup is local. */
export const allLocal = (fsTypes: readonly string[]): boolean => fsTypes.every((t) => LOCAL_FILESYSTEMS.has(t));

// statfs(2) f_type of the same local filesystems (linux/magic.h), for when the mount table is not read.
const LOCAL_MAGIC = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0xca451a4e, // bcachefs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlay
  0x73717368, // squashfs
  0xe0f5e1e2, // erofs
]);

/** Whether a statfs `f_type` is a local filesystem. */
export const isLocalMagic = (type: number): boolean => LOCAL_MAGIC.has(type);
