/**
 * Builds `/proc`-like directory trees for posture tests: files, directories, symbolic links (for `/proc/self` and
 * `/proc/self/ns/*`) and a digest of the tree to prove the audit wrote nothing.
 */
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** One entry: file text, a directory, or a symbolic link to `link` (relative targets stay inside the tree). */
export type TreeEntry = string | { readonly dir: true; readonly mode?: number } | { readonly link: string };

/** Paths (relative to the tree root, no leading slash) to entries. */
export type TreeSpec = Readonly<Record<string, TreeEntry>>;

/** Creates the tree in a fresh temporary directory and returns its absolute path. */
export function buildTree(spec: TreeSpec): string {
  const root = mkdtempSync(join(tmpdir(), 'koa-mtls-posture-'));
  for (const [path, entry] of Object.entries(spec)) {
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    if (typeof entry === 'string') {
      writeFileSync(target, entry);
    } else if ('dir' in entry) {
      mkdirSync(target, { recursive: true, mode: entry.mode ?? 0o755 });
    } else {
      symlinkSync(entry.link, target);
    }
  }
  return root;
}

/** Removes a tree made by {@link buildTree}. */
export function removeTree(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/** A digest of every path, type, mode, size, link target and file content under `root`. */
export function digestTree(root: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stats = lstatSync(path);
      hash.update(`${path}\0${stats.mode}\0${stats.size}\0${stats.mtimeMs}\0`);
      if (stats.isSymbolicLink()) hash.update(readlinkSync(path));
      else if (stats.isDirectory()) walk(path);
      else if (stats.isFile()) hash.update(readFileSync(path));
    }
  };
  walk(root);
  return hash.digest('hex');
}
