import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { InvalidOptionError, KoaMtlsError } from '../../src/errors.js';
import type { SymlinkPolicy } from '../../src/sandbox/fd-walk.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { SandboxPathError } from '../../src/sandbox/sandbox-error.js';
import { type Fixture, insideContent, makeFixture, openFdCount } from './fixture.js';

/** Go `rootTestCases` and openat2 `resolve_test.c`, as a layout. `$DIR` is the fixture's temp dir. */
const LAYOUT = [
  'f.txt',
  'do..ts.txt',
  'd/g.txt',
  'd/e/h.txt',
  // links out
  'abs => $DIR/OUTSIDE',
  'abs_dir => $DIR/outdir',
  'etc => /etc',
  'rel_esc => ../OUTSIDE',
  'rel_esc_dir => ../outdir',
  'rel_escape_back => ../ROOT/f.txt',
  'dotdot => ..',
  'd/dd => ../..',
  'd/e/ddd => ../../../outdir/passwd',
  'sibling => ../ROOT2/secret.txt',
  'procroot => /proc/self/root',
  'proccwd => ../../../../../../../../../../proc/self/cwd',
  'procfd => /proc/self/fd/0',
  'garbage => /../../../../etc/passwd',
  'chainesc1 => chainesc2',
  'chainesc2 => d/../../OUTSIDE',
  // links in
  'in_link => f.txt',
  'd/up => ../f.txt',
  'dir_link => d',
  'dotend => d/.',
  'd/e/self => ../../d/e',
  'd/parent => ..',
  'self => .',
  'absroot => $DIR/ROOT',
  'file_dot => f.txt/.',
  'file_slash => f.txt/',
  'dir_slash => d/',
  'chain1 => chain2',
  'chain2 => d/chain3',
  'd/chain3 => ../chain4',
  'chain4 => d/e/h.txt',
  'dangle => missing.txt',
  // loops and long chains
  'cyc => cyc',
  'loop_a => loop_b',
  'loop_b => loop_a',
  'hop0 => hop1',
  'hop1 => hop2',
  'hop2 => hop3',
  'hop3 => hop4',
  'hop4 => hop5',
  'hop5 => hop6',
  'hop6 => hop7',
  'hop7 => hop8',
  'hop8 => hop.txt',
  'hop.txt',
  // the Kubernetes Secret volume layout
  'k8s/..2025_01_01_00_00_00.123/tls.crt',
  'k8s/..data => ..2025_01_01_00_00_00.123',
  'k8s/tls.crt => ..data/tls.crt',
  // special files
  'fifo |fifo',
  'sock |socket',
  'zero |device',
  'fifo_link => fifo',
];

type Expect = string | readonly [reasonInRoot: string, reasonNone?: string];

/** [request, expected]: a string is the inside file whose content must come back (in-root mode); a tuple is a 404 reason. */
const CASES: ReadonlyArray<readonly [string, Expect]> = [
  ['f.txt', 'f.txt'],
  ['do..ts.txt', 'do..ts.txt'],
  ['d/g.txt', 'd/g.txt'],
  ['d/e/h.txt', 'd/e/h.txt'],
  ['missing.txt', ['NOT_FOUND']],
  ['d/missing/x', ['NOT_FOUND']],
  ['f.txt/x', ['NOT_DIRECTORY']],
  ['d', ['NOT_REGULAR_FILE']],
  ['abs', ['SYMLINK_ABSOLUTE', 'SYMLINK_REFUSED']],
  ['abs_dir/passwd', ['SYMLINK_ABSOLUTE', 'SYMLINK_REFUSED']],
  ['etc/passwd', ['SYMLINK_ABSOLUTE', 'SYMLINK_REFUSED']],
  ['rel_esc', ['SYMLINK_ESCAPE', 'SYMLINK_REFUSED']],
  ['rel_esc_dir/passwd', ['SYMLINK_ESCAPE', 'SYMLINK_REFUSED']],
  ['rel_escape_back', ['SYMLINK_ESCAPE', 'SYMLINK_REFUSED']],
  ['dotdot/OUTSIDE', ['SYMLINK_ESCAPE', 'SYMLINK_REFUSED']],
  ['d/dd/OUTSIDE', ['SYMLINK_ESCAPE', 'SYMLINK_REFUSED']],
  ['d/e/ddd', ['SYMLINK_ESCAPE', 'SYMLINK_REFUSED']],
  ['sibling', ['SYMLINK_ESCAPE', 'SYMLINK_REFUSED']],
  ['procroot/etc/passwd', ['SYMLINK_ABSOLUTE', 'SYMLINK_REFUSED']],
  ['proccwd/OUTSIDE', ['SYMLINK_ESCAPE', 'SYMLINK_REFUSED']],
  ['procfd', ['SYMLINK_ABSOLUTE', 'SYMLINK_REFUSED']],
  ['garbage', ['SYMLINK_ABSOLUTE', 'SYMLINK_REFUSED']],
  ['chainesc1', ['SYMLINK_ESCAPE', 'SYMLINK_REFUSED']],
  ['in_link', 'f.txt'],
  ['d/up', 'f.txt'],
  ['dir_link/g.txt', 'd/g.txt'],
  ['dotend/g.txt', 'd/g.txt'],
  ['d/e/self/self/self/h.txt', 'd/e/h.txt'],
  ['d/parent/f.txt', 'f.txt'], // golang/go#73081: d/link => ..
  ['self/d/g.txt', 'd/g.txt'],
  ['absroot/f.txt', ['SYMLINK_ABSOLUTE', 'SYMLINK_REFUSED']], // absolute even when it points inside
  ['fifo/x', ['NOT_DIRECTORY']],
  ['file_dot', ['NOT_DIRECTORY', 'SYMLINK_REFUSED']], // like the kernel: f.txt/. needs a directory
  ['file_slash', ['NOT_DIRECTORY', 'SYMLINK_REFUSED']],
  ['dir_slash/g.txt', 'd/g.txt'],
  ['dir_slash', ['NOT_REGULAR_FILE', 'SYMLINK_REFUSED']],
  ['sock/x', ['NOT_DIRECTORY']],
  ['chain1', 'd/e/h.txt'],
  ['dangle', ['NOT_FOUND', 'SYMLINK_REFUSED']],
  ['cyc', ['SYMLINK_TOO_MANY', 'SYMLINK_REFUSED']],
  ['loop_a', ['SYMLINK_TOO_MANY', 'SYMLINK_REFUSED']],
  ['hop1', 'hop.txt'], // 8 hops: allowed
  ['hop0', ['SYMLINK_TOO_MANY', 'SYMLINK_REFUSED']], // 9 hops
  ['k8s/tls.crt', 'k8s/..2025_01_01_00_00_00.123/tls.crt'],
  ['fifo', ['NOT_REGULAR_FILE']],
  ['sock', ['NOT_REGULAR_FILE']],
  ['fifo_link', ['NOT_REGULAR_FILE', 'SYMLINK_REFUSED']],
];

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture(LAYOUT);
});
afterAll(async () => {
  await fixture.cleanup();
});

/** Opens and reads, returning the content or the refusal; asserts the error shape on the way. */
async function attempt(sandbox: Sandbox, request: string): Promise<{ body?: string; reason?: string }> {
  try {
    const handle = await sandbox.open(request);
    try {
      return { body: await handle.readFile('utf8') };
    } finally {
      await handle.close();
    }
  } catch (err) {
    expect(err).toBeInstanceOf(SandboxPathError);
    const e = err as SandboxPathError;
    expect(e.message).not.toContain(fixture.dir);
    return { reason: `${e.status} ${e.code} ${e.reason}` };
  }
}

describe.each([
  ['in-root', 'sync'],
  ['in-root', 'async'],
  ['none', 'sync'],
  ['none', 'async'],
] as const)('when symlinks is %j (walk %s)', (symlinks: SymlinkPolicy, walk) => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox(fixture.root, { symlinks, walk });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it.each(CASES)('open(%j)', async (request, expected) => {
    const result = await attempt(sandbox, request);
    expect(result.body).not.toBe(fixture.canary);
    if (typeof expected === 'string') {
      // A request that does not name its file directly went through a link, which 'none' refuses.
      if (symlinks === 'none' && request !== expected) {
        expect(result).toEqual({ reason: '404 ERR_SANDBOX_NOT_FOUND SYMLINK_REFUSED' });
      } else {
        expect(result).toEqual({ body: insideContent(expected) });
      }
    } else {
      const reason = symlinks === 'none' ? (expected[1] ?? expected[0]) : expected[0];
      expect(result).toEqual({ reason: `404 ERR_SANDBOX_NOT_FOUND ${reason}` });
    }
  });

  it('refuses a device node without opening it', async ({ skip }) => {
    if (!fixture.hasDevice) skip('mknod needs CAP_MKNOD');
    const started = performance.now();
    expect(await attempt(sandbox, 'zero')).toEqual({ reason: '404 ERR_SANDBOX_NOT_FOUND NOT_REGULAR_FILE' });
    expect(await attempt(sandbox, 'zero/x')).toEqual({ reason: '404 ERR_SANDBOX_NOT_FOUND NOT_DIRECTORY' });
    expect(performance.now() - started).toBeLessThan(100);
  });

  it.each(['fifo', 'sock', 'fifo_link', 'fifo/x'])('answers %j within 100 ms (no blocking open)', async (request) => {
    const started = performance.now();
    await attempt(sandbox, request);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it.each([
    ['../OUTSIDE', 'PATH_DOT_SEGMENT'],
    ['../ROOT2/secret.txt', 'PATH_DOT_SEGMENT'],
    [`${'..'}/${'ROOT'}/f.txt`, 'PATH_DOT_SEGMENT'],
    ['/etc/passwd', 'PATH_ABSOLUTE'],
    ['abs/', 'PATH_TRAILING_SLASH'],
    ['k8s/..data/tls.crt', 'PATH_DOTFILE'],
  ])('refuses %j lexically with 400 %s', async (request, reason) => {
    expect(await attempt(sandbox, request)).toEqual({ reason: `400 ERR_SANDBOX_INVALID_PATH ${reason}` });
  });
});

describe.each(['in-root', 'none'] as const)('when the unsafe path mode is forced (symlinks %j)', (symlinks) => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox(fixture.root, { symlinks, unsafePathMode: true, procFdDir: join(fixture.dir, 'x') });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  // Without a race, path mode keeps the same invariant (its refusal reasons differ: it asks realpath, not a walk).
  it.each(CASES)('open(%j) is an inside file or a 404, never the canary', async (request) => {
    const result = await attempt(sandbox, request);
    if (result.body === undefined) expect(result.reason).toMatch(/^404 ERR_SANDBOX_NOT_FOUND /);
    else expect(result.body).toMatch(/^inside:/);
  });

  it('still refuses special files quickly and lexical attacks with 400', async () => {
    const started = performance.now();
    expect(await attempt(sandbox, 'fifo')).toEqual({ reason: '404 ERR_SANDBOX_NOT_FOUND NOT_REGULAR_FILE' });
    expect(performance.now() - started).toBeLessThan(100);
    expect(await attempt(sandbox, '../OUTSIDE')).toEqual({ reason: '400 ERR_SANDBOX_INVALID_PATH PATH_DOT_SEGMENT' });
  });
});

describe('resolve()', () => {
  it('returns the real absolute path of an in-root file, through links', async () => {
    const sandbox = await createSandbox(fixture.root);
    try {
      expect(await sandbox.resolve('k8s/tls.crt')).toBe(join(fixture.root, 'k8s/..2025_01_01_00_00_00.123/tls.crt'));
      await expect(sandbox.resolve('rel_esc')).rejects.toMatchObject({ status: 404, reason: 'SYMLINK_ESCAPE' });
    } finally {
      await sandbox.close();
    }
  });
});

describe('when writing', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox(fixture.root);
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('creates a new file exclusively with wx, mode 0600, and refuses a second wx', async () => {
    const handle = await sandbox.open('d/upload.bin', { flags: 'wx' });
    await handle.writeFile('payload');
    await handle.close();
    expect(await readFile(join(fixture.root, 'd/upload.bin'), 'utf8')).toBe('payload');
    expect((await stat(join(fixture.root, 'd/upload.bin'))).mode & 0o777).toBe(0o600);
    await expect(sandbox.open('d/upload.bin', { flags: 'wx' })).rejects.toMatchObject({
      status: 404,
      reason: 'EXISTS',
    });
  });

  it('never creates or truncates through a link: wx on a dangling link is EXISTS, w on an escaping link is refused', async () => {
    await expect(sandbox.open('dangle', { flags: 'wx' })).rejects.toMatchObject({ reason: 'EXISTS' });
    await expect(sandbox.open('rel_esc', { flags: 'w' })).rejects.toMatchObject({ reason: 'SYMLINK_ESCAPE' });
    await expect(sandbox.open('abs', { flags: 'a' })).rejects.toMatchObject({ reason: 'SYMLINK_ABSOLUTE' });
    await expect(sandbox.open('rel_esc_dir/new.txt', { flags: 'wx' })).rejects.toMatchObject({
      reason: 'SYMLINK_ESCAPE',
    });
    expect(await readFile(join(fixture.dir, 'OUTSIDE'), 'utf8')).toBe(fixture.canary);
    await expect(stat(join(fixture.dir, 'outdir/new.txt'))).rejects.toThrow();
  });

  it('refuses a write to a FIFO quickly', async () => {
    await expect(sandbox.open('fifo', { flags: 'w' })).rejects.toMatchObject({ reason: 'NOT_REGULAR_FILE' });
  });

  it('rejects unknown flags at call time', async () => {
    await expect(sandbox.open('f.txt', { flags: 'rs+' as never })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(sandbox.open('f.txt', { flag: 'r' } as never)).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe('when allow and deny globs are configured', () => {
  it('matches the validated relative path, and denies by the resolved path too', async () => {
    const sandbox = await createSandbox(fixture.root, { allow: ['*.txt', 'd/**', 'in_link'], deny: ['d/e/**'] });
    try {
      expect(await attempt(sandbox, 'f.txt')).toEqual({ body: insideContent('f.txt') });
      expect(await attempt(sandbox, 'd/g.txt')).toEqual({ body: insideContent('d/g.txt') });
      expect(await attempt(sandbox, 'in_link')).toEqual({ body: insideContent('f.txt') });
      expect(await attempt(sandbox, 'k8s/tls.crt')).toEqual({ reason: '404 ERR_SANDBOX_NOT_FOUND GLOB_NOT_ALLOWED' });
      expect(await attempt(sandbox, 'd/e/h.txt')).toEqual({ reason: '404 ERR_SANDBOX_NOT_FOUND GLOB_DENIED' });
      // d/e/self/h.txt is allowed by name (d/**) but resolves into d/e/: the deny list sees through the link.
      expect(await attempt(sandbox, 'd/up')).toEqual({ body: insideContent('f.txt') });
      expect(await attempt(sandbox, 'd/e/self/h.txt')).toEqual({ reason: '404 ERR_SANDBOX_NOT_FOUND GLOB_DENIED' });
      // The lexical rules run first: ** never sees an absolute or dotted path.
      expect(await attempt(sandbox, '../OUTSIDE')).toEqual({ reason: '400 ERR_SANDBOX_INVALID_PATH PATH_DOT_SEGMENT' });
    } finally {
      await sandbox.close();
    }
  });

  it('denies a symlink that smuggles a denied file in under an allowed name', async () => {
    const sandbox = await createSandbox(fixture.root, { allow: ['**'], deny: ['hop.txt'] });
    try {
      expect(await attempt(sandbox, 'hop8')).toEqual({ reason: '404 ERR_SANDBOX_NOT_FOUND GLOB_DENIED' });
    } finally {
      await sandbox.close();
    }
  });

  it.each([
    [{ allow: 'a' }, 'options.allow'],
    [{ allow: [''] }, 'options.allow[0]'],
    [{ deny: ['ok', '/etc/*'] }, 'options.deny[1]'],
    [{ deny: ['../x'] }, 'options.deny[0]'],
    [{ allow: ['a\\b'] }, 'options.allow[0]'],
    [{ allow: [1] }, 'options.allow[0]'],
  ])('throws InvalidOptionError for %j', async (options, path) => {
    await expect(createSandbox(fixture.root, options as never)).rejects.toMatchObject({
      name: 'InvalidOptionError',
      path,
    });
  });
});

describe('the public members sandboxPath is built on', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox(fixture.root, { allow: ['*.txt', 'in_link', 'd/**'], deny: ['d/e/**'] });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('exposes the allow and deny globs as given, frozen; no allow-list is null', async () => {
    expect(sandbox.allow).toEqual(['*.txt', 'in_link', 'd/**']);
    expect(sandbox.deny).toEqual(['d/e/**']);
    expect(Object.isFrozen(sandbox.allow)).toBe(true);
    expect(Object.isFrozen(sandbox.deny)).toBe(true);
    const open = await createSandbox(fixture.root);
    try {
      expect(open.allow).toBeNull();
      expect(open.deny).toEqual([]);
    } finally {
      await open.close();
    }
  });

  it.each([
    ['f.txt', { ok: true, path: 'f.txt', segments: ['f.txt'] }],
    ['d/e/missing.txt', '404 GLOB_DENIED'],
    ['k8s/tls.crt', '404 GLOB_NOT_ALLOWED'],
    ['../OUTSIDE', '400 PATH_DOT_SEGMENT'],
    [['f.txt'], '400 PATH_NOT_STRING'],
  ] as const)('check(%j) decides without the filesystem: %j', (input, expected) => {
    let outcome: unknown;
    try {
      outcome = sandbox.check(input);
    } catch (err) {
      expect(err).toBeInstanceOf(SandboxPathError);
      outcome = `${(err as SandboxPathError).status} ${(err as SandboxPathError).reason}`;
    }
    expect(outcome).toEqual(expected);
  });

  it('check accepts a path whose file does not exist (open is what looks)', async () => {
    expect(sandbox.check('d/nothing-here.txt').path).toBe('d/nothing-here.txt');
    await expect(sandbox.open('d/nothing-here.txt')).rejects.toMatchObject({ status: 404, reason: 'NOT_FOUND' });
  });

  it('openDetailed returns the handle, the resolved in-root path, the real path and the fstat of the opened file', async () => {
    const opened = await sandbox.openDetailed('in_link');
    try {
      expect(opened.resolved).toBe('f.txt');
      expect(opened.realPath).toBe(join(fixture.root, 'f.txt'));
      const onDisk = await stat(join(fixture.root, 'f.txt'));
      expect([opened.stats.ino, opened.stats.size]).toEqual([onDisk.ino, onDisk.size]);
      expect(await opened.handle.readFile('utf8')).toBe(insideContent('f.txt'));
    } finally {
      await opened.handle.close();
    }
  });

  it('openDetailed refuses like open: globs, escapes, unknown options', async () => {
    await expect(sandbox.openDetailed('d/e/h.txt')).rejects.toMatchObject({ status: 404, reason: 'GLOB_DENIED' });
    await expect(sandbox.openDetailed('../OUTSIDE')).rejects.toMatchObject({ status: 400 });
    await expect(sandbox.openDetailed('f.txt', { flags: 'rs+' as never })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(sandbox.openDetailed('f.txt', { flag: 'r' } as never)).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe('createSandbox()', () => {
  it.each([
    ['a relative root', 'relative/dir', InvalidOptionError],
    ['a non-string root', 42, InvalidOptionError],
    ['a root with NUL', '/tmp/a\0b', InvalidOptionError],
  ])('refuses %s', async (_, root, type) => {
    await expect(createSandbox(root as string)).rejects.toBeInstanceOf(type);
  });

  it('refuses a missing root and a file as root with ERR_SANDBOX_CONFIG', async () => {
    await expect(createSandbox(join(fixture.dir, 'nope'))).rejects.toMatchObject({ code: 'ERR_SANDBOX_CONFIG' });
    await expect(createSandbox(join(fixture.dir, 'OUTSIDE'))).rejects.toMatchObject({ code: 'ERR_SANDBOX_CONFIG' });
  });

  it.each(['/', '/proc', '/proc/self', '/proc/1/root', '/sys', '/dev', '/etc', '/run', '/var/run', '//', '/etc/'])(
    'refuses the host root %j unless forced',
    async (root) => {
      await expect(createSandbox(root)).rejects.toMatchObject({ code: 'ERR_SANDBOX_CONFIG' });
    },
  );

  it('accepts a host root with unsafeAllowHostRoot (explicitly forced)', async () => {
    const sandbox = await createSandbox('/etc', { unsafeAllowHostRoot: true, mounts: 'ignore' });
    expect(sandbox.root).toBe('/etc');
    await sandbox.close();
  });

  it('refuses a link to a host root (checked on the real path)', async () => {
    const linkToProc = join(fixture.dir, 'proc-link');
    await symlink('/proc', linkToProc);
    await expect(createSandbox(linkToProc)).rejects.toMatchObject({ code: 'ERR_SANDBOX_CONFIG' });
  });

  it.each(['darwin', 'win32', 'freebsd'])('fails closed with ERR_SANDBOX_UNSUPPORTED on %s', async (platform) => {
    const original = Object.getOwnPropertyDescriptor(process, 'platform') as PropertyDescriptor;
    Object.defineProperty(process, 'platform', { ...original, value: platform });
    try {
      await expect(createSandbox(fixture.root)).rejects.toMatchObject({ code: 'ERR_SANDBOX_UNSUPPORTED' });
    } finally {
      Object.defineProperty(process, 'platform', original);
    }
  });

  it('falls back to the racy path mode only when unsafePathMode is set, and says so', async () => {
    const original = Object.getOwnPropertyDescriptor(process, 'platform') as PropertyDescriptor;
    Object.defineProperty(process, 'platform', { ...original, value: 'darwin' });
    const events: AuditEvent[] = [];
    try {
      const sandbox = await createSandbox(fixture.root, { unsafePathMode: true, onAudit: (e) => events.push(e) });
      expect(sandbox.mode).toBe('unsafe-path');
      expect(await attempt(sandbox, 'd/g.txt')).toEqual({ body: insideContent('d/g.txt') });
      await sandbox.close();
    } finally {
      Object.defineProperty(process, 'platform', original);
    }
    expect(events).toContainEqual({
      kind: 'sandbox',
      outcome: 'warn',
      reason: 'UNSAFE_PATH_MODE',
      detail: { why: 'platform' },
    });
    const noProc = await createSandbox(fixture.root, { procFdDir: join(fixture.dir, 'no-proc'), unsafePathMode: true });
    expect(noProc.mode).toBe('unsafe-path');
    await noProc.close();
    const normal = await createSandbox(fixture.root, { unsafePathMode: true });
    expect(normal.mode).toBe('fd-walk'); // the option never weakens a sandbox that can walk
    await normal.close();
  });

  it('fails closed when the fd directory is missing or is not a magic-link directory', async () => {
    await expect(createSandbox(fixture.root, { procFdDir: join(fixture.dir, 'no-proc') })).rejects.toMatchObject({
      code: 'ERR_SANDBOX_UNSUPPORTED',
    });
    // A plain directory that happens to hold an entry named like the fd does not pass the probe.
    const fake = join(fixture.dir, 'fake-fd');
    await mkdir(fake);
    for (let fd = 0; fd < 64; fd++) await symlink(fixture.root, join(fake, String(fd)));
    await expect(createSandbox(fixture.root, { procFdDir: fake })).rejects.toMatchObject({
      code: 'ERR_SANDBOX_UNSUPPORTED',
    });
    await rm(fake, { recursive: true });
  });

  it.each([
    [{ symlinks: 'all' }, 'options.symlinks'],
    [{ mounts: 'maybe' }, 'options.mounts'],
    [{ fileMode: 0o1777 }, 'options.fileMode'],
    [{ noCrossDevice: 1 }, 'options.noCrossDevice'],
    [{ procFdDir: 'proc' }, 'options.procFdDir'],
    [{ follow: true }, 'options.follow'],
    [{ maxDepth: 0 }, 'options.maxDepth'],
  ])('throws InvalidOptionError for %j', async (options, path) => {
    await expect(createSandbox(fixture.root, options as never)).rejects.toMatchObject({
      name: 'InvalidOptionError',
      path,
    });
  });

  it('does not mutate or keep the caller options', async () => {
    const allow = ['*.txt'];
    const options = Object.freeze({ allow, symlinks: 'none' as const });
    const sandbox = await createSandbox(fixture.root, options);
    allow.push('**');
    expect(await attempt(sandbox, 'd/g.txt')).toEqual({ reason: '404 ERR_SANDBOX_NOT_FOUND GLOB_NOT_ALLOWED' });
    await sandbox.close();
  });

  it('fails closed (404) once the root directory has been renamed away', async () => {
    const { root, dir } = await makeFixture(['a.txt']);
    const sandbox = await createSandbox(root);
    await rename(root, join(dir, 'MOVED'));
    // The defence-in-depth check sees a real path outside the old root: fail closed, never another file.
    await expect(sandbox.open('a.txt')).rejects.toMatchObject({ status: 404, reason: 'OUTSIDE_ROOT' });
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  });
});

describe('hard links and devices (documented limits, opt-in checks)', () => {
  it('singleLinkOnly refuses a hard link to an outside file; without it the link is served (documented)', async () => {
    const hard = join(fixture.root, 'hard.txt');
    await link(join(fixture.dir, 'OUTSIDE'), hard);
    try {
      const strict = await createSandbox(fixture.root, { singleLinkOnly: true });
      expect(await attempt(strict, 'hard.txt')).toEqual({ reason: '404 ERR_SANDBOX_NOT_FOUND MULTIPLE_LINKS' });
      expect(await attempt(strict, 'f.txt')).toEqual({ body: insideContent('f.txt') });
      await strict.close();
      const strictPath = await createSandbox(fixture.root, {
        singleLinkOnly: true,
        unsafePathMode: true,
        procFdDir: join(fixture.dir, 'none'),
      });
      expect(await attempt(strictPath, 'hard.txt')).toEqual({ reason: '404 ERR_SANDBOX_NOT_FOUND MULTIPLE_LINKS' });
      await strictPath.close();
    } finally {
      await rm(hard);
    }
  });

  it('noCrossDevice serves same-device files', async () => {
    const sandbox = await createSandbox(fixture.root, { noCrossDevice: true });
    expect(await attempt(sandbox, 'k8s/tls.crt')).toEqual({
      body: insideContent('k8s/..2025_01_01_00_00_00.123/tls.crt'),
    });
    await sandbox.close();
  });
});

describe('close()', () => {
  it('waits for pending opens, then refuses further use with ERR_SANDBOX_CLOSED', async () => {
    const sandbox = await createSandbox(fixture.root);
    const pending = Array.from({ length: 20 }, () => sandbox.open('d/e/h.txt').then((h) => h.close()));
    await sandbox.close();
    await Promise.all(pending);
    expect(sandbox.closed).toBe(true);
    await expect(sandbox.open('f.txt')).rejects.toSatisfy(
      (err) => err instanceof KoaMtlsError && err.code === 'ERR_SANDBOX_CLOSED' && err.status === 500,
    );
    await sandbox.close();
  });
});

describe('when thousands of requests are served', () => {
  it('leaks no file descriptor', async () => {
    const sandbox = await createSandbox(fixture.root);
    const requests = CASES.map(([request]) => request).concat(['../x', 'd/e/self/self/h.txt', 'fifo']);
    await attempt(sandbox, 'f.txt'); // warm-up: lazily opened descriptors of the runtime
    const before = await openFdCount();
    for (let round = 0; round < 60; round++) {
      await Promise.all(requests.map((request) => attempt(sandbox, request)));
    }
    // Not equality: the runtime may close a descriptor of its own meanwhile; a leak would add thousands.
    expect(await openFdCount()).toBeLessThanOrEqual(before);
    await sandbox.close();
  });
});

describe('when a link under an allowed name points at a file the allow-list excludes', () => {
  it('refuses it by its resolved path (404 GLOB_NOT_ALLOWED), and still serves a Kubernetes volume that the list names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'koa-mtls-allow-'));
    try {
      mkdirSync(join(dir, 'public'));
      mkdirSync(join(dir, 'private'));
      writeFileSync(join(dir, 'private', 'secret.txt'), 'SECRET');
      symlinkSync('../private/secret.txt', join(dir, 'public', 'l-secret'));
      mkdirSync(join(dir, '..2025_01_01'));
      writeFileSync(join(dir, '..2025_01_01', 'tls.crt'), 'CERT');
      symlinkSync('..2025_01_01', join(dir, '..data'));
      symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
      const publicOnly = await createSandbox(dir, { allow: ['public/**'] });
      await expect(publicOnly.open('public/l-secret')).rejects.toMatchObject({
        status: 404,
        reason: 'GLOB_NOT_ALLOWED',
      });
      await publicOnly.close();
      const volume = await createSandbox(dir, { allow: ['*.crt', '..*/*.crt'] });
      const handle = await volume.open('tls.crt');
      expect(String(await handle.readFile())).toBe('CERT');
      await handle.close();
      await volume.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
