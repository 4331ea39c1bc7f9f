/**
 * Filesystem fixtures for sandbox tests, in the style of Go's `rootTestCases`: a layout is a list of strings
 * (`'d/'` a directory, `'f'` a file, `'a => b'` a symlink, `'p |fifo'`, `'s |socket'`, `'n |device'`), built under
 * `<tmp>/ROOT`, next to outside files that all hold one CANARY string. A test passes only if no read ever returns it.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Fixture {
  /** The temporary directory holding ROOT and the outside files (real path). */
  readonly dir: string;
  /** The sandbox root, `<dir>/ROOT`. */
  readonly root: string;
  /** The content of every outside file. */
  readonly canary: string;
  /** Whether the device node could be created (needs CAP_MKNOD). */
  readonly hasDevice: boolean;
  cleanup(): Promise<void>;
}

/** The content of an inside file: its own relative path, so a test can tell which file it got. */
export const insideContent = (relative: string): string => `inside:${relative}`;

/**
 * Builds a fixture. Outside the root: `OUTSIDE` (file), `outdir/passwd`, `outdir/secret.txt` and a sibling
 * `ROOT2/secret.txt` whose name shares the root's prefix (CVE-2014-6394).
 */
export async function makeFixture(
  layout: readonly string[],
  { tolerant = false }: { readonly tolerant?: boolean } = {},
): Promise<Fixture> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'koa-mtls-sandbox-')));
  const root = join(dir, 'ROOT');
  const canary = `CANARY-${randomUUID()}`;
  await mkdir(root);
  await mkdir(join(dir, 'outdir'));
  await mkdir(join(dir, 'ROOT2'));
  for (const outside of ['OUTSIDE', 'outdir/passwd', 'outdir/secret.txt', 'ROOT2/secret.txt']) {
    await writeFile(join(dir, outside), canary);
  }
  const servers: Server[] = [];
  let hasDevice = true;
  for (const entry of layout) {
    if (!tolerant) {
      await addEntry(entry);
      continue;
    }
    // Generated layouts: skip entries that collide or sit below a link or a file (never build outside ROOT).
    const name = entry.split(' ')[0] as string;
    if (await crossesLinkOrFile(root, name)) continue;
    await addEntry(entry).catch(() => undefined);
  }

  async function addEntry(entry: string): Promise<void> {
    const link = entry.split(' => ');
    const special = entry.split(' |');
    if (link.length === 2) {
      const [name, target] = link as [string, string];
      await mkdir(dirname(join(root, name)), { recursive: true });
      await symlink(target.replaceAll('$DIR', dir), join(root, name));
    } else if (special.length === 2) {
      const [name, kind] = special as [string, string];
      const path = join(root, name);
      await mkdir(dirname(path), { recursive: true });
      if (kind === 'fifo') execFileSync('mkfifo', [path]);
      else if (kind === 'socket') servers.push(await listenUnix(path));
      else {
        try {
          execFileSync('mknod', [path, 'c', '1', '5'], { stdio: 'ignore' }); // /dev/zero's numbers
        } catch {
          hasDevice = false;
        }
      }
    } else if (entry.endsWith('/')) {
      await mkdir(join(root, entry), { recursive: true });
    } else {
      await mkdir(dirname(join(root, entry)), { recursive: true });
      await writeFile(join(root, entry), insideContent(entry));
    }
  }
  return {
    dir,
    root,
    canary,
    hasDevice,
    async cleanup() {
      await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Whether a proper prefix of `relative` is a symlink or a non-directory (or the entry itself already exists). */
async function crossesLinkOrFile(root: string, relative: string): Promise<boolean> {
  const parts = relative.replace(/\/$/, '').split('/');
  for (let i = 1; i <= parts.length; i++) {
    const st = await lstat(join(root, ...parts.slice(0, i))).catch(() => null);
    if (st === null) return false;
    if (i === parts.length || st.isSymbolicLink() || !st.isDirectory()) return true;
  }
  return false;
}

function listenUnix(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

/** How many descriptors this process holds (Linux). */
export async function openFdCount(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

/**
 * The public traversal payload list, one payload per line, or `undefined` when it is absent. CI keeps `shared/` beside
 * the clone (`<repo>/../shared/data/traversal-payloads.txt`); `KOA_MTLS_SHARED_DIR` points elsewhere for other layouts.
 */
export function loadTraversalPayloads(): string[] | undefined {
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  const candidates = [
    process.env.KOA_MTLS_SHARED_DIR && join(process.env.KOA_MTLS_SHARED_DIR, 'data/traversal-payloads.txt'),
    join(repoRoot, '../shared/data/traversal-payloads.txt'),
  ];
  const file = candidates.find((c): c is string => typeof c === 'string' && c !== '' && existsSync(c));
  return file === undefined
    ? undefined
    : readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '');
}
