import { type ChildProcess, spawn } from 'node:child_process';
import { link, readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxOpenFlags } from '../../src/sandbox/fd-walk.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { SandboxPathError } from '../../src/sandbox/sandbox-error.js';
import { type Fixture, makeFixture } from './fixture.js';

/**
 * A refused open changes nothing (issue: the device, link and root checks used to run after the kernel had applied
 * O_TRUNC/O_CREAT). Each attack runs for every flag that may change a file; the outside file's bytes and every
 * directory listing are compared before and after.
 */
const WRITE_FLAGS: readonly SandboxOpenFlags[] = ['r+', 'w', 'a'];
const CREATE_FLAGS: readonly SandboxOpenFlags[] = ['w', 'wx', 'a', 'ax'];

let fixture: Fixture | undefined;
let flipper: ChildProcess | undefined;
afterEach(async () => {
  flipper?.kill('SIGKILL');
  flipper = undefined;
  await fixture?.cleanup();
  fixture = undefined;
});

/** Everything under `dir` (names, sizes and bytes), to compare before and after. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    out[path] = entry.isFile() ? await readFile(path, 'utf8') : entry.isDirectory() ? 'dir/' : 'other';
  }
  return out;
}

async function refusedWith(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SandboxPathError);
  expect(err).toMatchObject({ status: 404, code: 'ERR_SANDBOX_NOT_FOUND' });
  return (err as SandboxPathError).reason;
}

describe('a refused write changes nothing', () => {
  it.each(WRITE_FLAGS)('singleLinkOnly: %s on a hard link to an outside file leaves its bytes', async (flags) => {
    fixture = await makeFixture([]);
    await link(join(fixture.dir, 'OUTSIDE'), join(fixture.root, 'hard.txt'));
    const before = await snapshot(fixture.dir);
    const sandbox = await createSandbox(fixture.root, { singleLinkOnly: true });
    expect(await refusedWith(sandbox.open('hard.txt', { flags }))).toBe('MULTIPLE_LINKS');
    expect(await snapshot(fixture.dir)).toEqual(before);
    expect(await readFile(join(fixture.dir, 'OUTSIDE'), 'utf8')).toBe(fixture.canary);
    await sandbox.close();
  });

  it.each(WRITE_FLAGS)('renamed root: %s on an existing file leaves it as it was', async (flags) => {
    fixture = await makeFixture(['a.txt']);
    const sandbox = await createSandbox(fixture.root);
    await rename(fixture.root, join(fixture.dir, 'MOVED'));
    const before = await snapshot(fixture.dir);
    expect(await refusedWith(sandbox.open('a.txt', { flags }))).toBe('OUTSIDE_ROOT');
    expect(await snapshot(fixture.dir)).toEqual(before);
    await sandbox.close();
  });

  it.each(CREATE_FLAGS)('renamed root: %s of a new name creates nothing, at the root and below', async (flags) => {
    fixture = await makeFixture(['d/a.txt']);
    const sandbox = await createSandbox(fixture.root);
    await rename(fixture.root, join(fixture.dir, 'MOVED'));
    const before = await snapshot(fixture.dir);
    expect(await refusedWith(sandbox.open('new.txt', { flags }))).toBe('OUTSIDE_ROOT');
    expect(await refusedWith(sandbox.open('d/new.txt', { flags }))).toBe('OUTSIDE_ROOT');
    expect(await snapshot(fixture.dir)).toEqual(before);
    await sandbox.close();
  });

  it.each(CREATE_FLAGS)('renamed parent of the root: %s creates nothing and empties nothing', async (flags) => {
    fixture = await makeFixture(['a.txt']);
    const sandbox = await createSandbox(fixture.root);
    const moved = `${fixture.dir}-moved`;
    await rename(fixture.dir, moved);
    try {
      const before = await snapshot(moved);
      expect(await refusedWith(sandbox.open('a.txt', { flags: flags === 'wx' || flags === 'ax' ? 'w' : flags }))).toBe(
        'OUTSIDE_ROOT',
      );
      expect(await refusedWith(sandbox.open('fresh.txt', { flags }))).toBe('OUTSIDE_ROOT');
      expect(await snapshot(moved)).toEqual(before);
    } finally {
      await rename(moved, fixture.dir);
      await sandbox.close();
    }
  });

  it.each(CREATE_FLAGS.filter((f) => f === 'w' || f === 'a'))(
    'globs on the resolved path: %s through an in-root link to a file the lists exclude changes nothing',
    async (flags) => {
      fixture = await makeFixture([
        'public/ok.txt',
        'private/key.txt',
        'public/x.txt => ../private/key.txt',
        'public/d => ../private',
      ]);
      const before = await snapshot(fixture.root);
      for (const options of [{ allow: ['public/**'] }, { deny: ['private/**'] }]) {
        const sandbox = await createSandbox(fixture.root, options);
        const expected = 'allow' in options ? 'GLOB_NOT_ALLOWED' : 'GLOB_DENIED';
        expect(await refusedWith(sandbox.open('public/x.txt', { flags }))).toBe(expected);
        expect(await refusedWith(sandbox.open('public/d/new.txt', { flags }))).toBe(expected);
        await sandbox.close();
      }
      expect(await snapshot(fixture.root)).toEqual(before);
    },
  );

  it("'w' on an accepted file still truncates, and a created file gets fileMode", async () => {
    fixture = await makeFixture(['a.txt']);
    const sandbox = await createSandbox(fixture.root, { fileMode: 0o640 });
    await (await sandbox.open('a.txt', { flags: 'w' })).close();
    expect(await readFile(join(fixture.root, 'a.txt'), 'utf8')).toBe('');
    const handle = await sandbox.open('new.txt', { flags: 'wx' });
    await handle.writeFile('x');
    await handle.close();
    expect((await stat(join(fixture.root, 'new.txt'))).mode & 0o777).toBe(0o640 & ~process.umask());
    expect(await refusedWith(sandbox.open('new.txt', { flags: 'wx' }))).toBe('EXISTS');
    await sandbox.close();
  });
});

/**
 * The attacker flips ROOT/a between a real directory and a link to the outside directory, and ROOT/h.txt between an
 * in-root file and a hard link to the outside file (link + rename(2), each swap atomic), until killed.
 */
const FLIPPER = `
const { linkSync, renameSync, symlinkSync } = require('node:fs');
const [root, outdir, outside, ms] = process.argv.slice(1);
const end = Date.now() + Number(ms);
try { symlinkSync(outdir, root + '/park_link'); } catch {}
process.stdout.write('ready');
for (let i = 0; Date.now() < end; i++) {
  try { renameSync(root + '/a', root + '/park_dir'); renameSync(root + '/park_link', root + '/a');
        renameSync(root + '/a', root + '/park_link'); renameSync(root + '/park_dir', root + '/a'); } catch {}
  try { linkSync(outside, root + '/h.tmp'); renameSync(root + '/h.tmp', root + '/h.txt'); } catch {}
  try { renameSync(root + '/h.in', root + '/h.txt'); } catch {}
  try { require('node:fs').writeFileSync(root + '/h.in', 'inside'); } catch {}
}
`;

describe('a refused write changes nothing under swap races', () => {
  it.each(['sync', 'async'] as const)('walk %s: no outside byte or name changes in 1.5 s of swaps', async (walk) => {
    fixture = await makeFixture(['a/t.txt', 'h.txt']);
    const outdir = join(fixture.dir, 'outdir');
    const before = await snapshot(outdir);
    const outsideBefore = await readFile(join(fixture.dir, 'OUTSIDE'), 'utf8');
    const sandbox = await createSandbox(fixture.root, { singleLinkOnly: true, walk });
    flipper = spawn(process.execPath, ['-e', FLIPPER, fixture.root, outdir, join(fixture.dir, 'OUTSIDE'), '3000'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const child = flipper;
    // Start the clock once the attacker runs (a node process can take a second to start on a loaded machine).
    await new Promise((started) => child.stdout?.once('data', started));
    const end = Date.now() + 1500;
    const names = ['a/t.txt', 'a/secret.txt', 'a/passwd', 'h.txt'];
    let opened = 0;
    let refused = 0;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; Date.now() < end; i++) {
        const flags = ([...CREATE_FLAGS, 'r+'] as const)[i % 5] as SandboxOpenFlags;
        const name = flags === 'wx' || flags === 'ax' ? `a/new-${w}-${i}.txt` : (names[i % names.length] as string);
        try {
          const handle = await sandbox.open(name, { flags });
          opened++;
          await handle.close();
        } catch (err) {
          if (!(err instanceof SandboxPathError)) throw err;
          refused++;
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));
    flipper.kill('SIGKILL');
    // Both outcomes happened, so the race was real; the outside was never touched.
    expect(opened).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(await snapshot(outdir)).toEqual(before);
    expect(await readFile(join(fixture.dir, 'OUTSIDE'), 'utf8')).toBe(outsideBefore);
    await sandbox.close();
  });
});
