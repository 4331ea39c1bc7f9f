import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { parseMountinfo } from '../../src/posture/mountinfo.js';
import { hostMountReason, sourcePathOf } from '../../src/sandbox/mounts.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { externalTools, MOUNT_NAMESPACES } from '../helpers/external-tools.js';
import { type Fixture, makeFixture } from './fixture.js';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture(['a.txt']);
});
afterAll(async () => {
  await fixture.cleanup();
});

const entry = (line: string) =>
  parseMountinfo(line).mounts[0] as NonNullable<ReturnType<typeof parseMountinfo>['mounts'][0]>;
const isHost = (p: string): boolean => ['/', '/etc', '/proc', '/sys', '/dev', '/run', '/var/run'].includes(p);

describe('the mount entry of a root, judged by its source (not its path)', () => {
  it.each([
    [
      '-v /:/host, root /host',
      '90 1 254:0 / /host rw - ext4 /dev/vda rw',
      '/host',
      'the host path / of /dev/vda (ext4)',
    ],
    [
      '-v /:/host, root /host/etc',
      '90 1 254:0 / /host rw - ext4 /dev/vda rw',
      '/host/etc',
      'the host path /etc of /dev/vda (ext4)',
    ],
    [
      '-v /etc:/cfg, root /cfg',
      '90 1 254:0 /etc /cfg rw - ext4 /dev/vda rw',
      '/cfg',
      'the host path /etc of /dev/vda (ext4)',
    ],
    ['-v /proc:/p', '90 1 0:20 / /p rw - proc proc rw', '/p', 'a proc filesystem'],
    ['-v /sys:/s, root /s/kernel', '90 1 0:21 / /s rw - sysfs sysfs rw', '/s/kernel', 'a sysfs filesystem'],
  ])('%s is a host mount', (_name, line, root, reason) => {
    expect(hostMountReason(entry(line), root, isHost)).toBe(reason);
  });

  it.each([
    ['a volume', '90 1 254:0 /var/lib/docker/volumes/x/_data /data rw - ext4 /dev/vda rw', '/data'],
    ['the host /srv/files bound', '90 1 254:0 /srv/files /files rw - ext4 /dev/vda rw', '/files'],
    ['an emptyDir or Secret volume (tmpfs)', '90 1 0:50 / /etc/tls rw - tmpfs tmpfs rw', '/etc/tls'],
    ['a directory on the container root', '90 1 0:40 / / rw - overlay overlay rw', '/srv/files'],
  ])('%s is not', (_name, line, root) => {
    expect(hostMountReason(entry(line), root, isHost)).toBeUndefined();
  });

  it('joins the mount root with the path below the mount point', () => {
    expect(sourcePathOf(entry('90 1 254:0 /a /m rw - ext4 /dev/vda rw'), '/m/b/c')).toBe('/a/b/c');
    expect(sourcePathOf(entry('90 1 254:0 / / rw - ext4 /dev/vda rw'), '/srv')).toBe('/srv');
  });
});

describe('the startup scan (mount tables from files)', () => {
  async function table(lines: string[]): Promise<string> {
    const file = join(fixture.dir, `mountinfo-${Math.random()}`);
    await writeFile(file, lines.join('\n'));
    return file;
  }
  // Ids no real table here uses, so the root is found by its mount point.
  const ROOT_LINE = '90001 1 254:0 / / rw,relatime - ext4 /dev/vda rw';

  it('warns through onAudit, naming each mount below the root', async () => {
    const events: AuditEvent[] = [];
    const mountInfoFile = await table([
      ROOT_LINE,
      `90040 90001 254:0 /etc ${fixture.root}/host\\040etc rw,relatime - ext4 /dev/vda rw`,
      `90041 90001 254:0 /x ${fixture.root}2/x rw - ext4 /dev/vda rw`,
    ]);
    const sandbox = await createSandbox(fixture.root, { mountInfoFile, onAudit: (e) => events.push(e) });
    expect(sandbox.mountsUnderRoot).toEqual(['host etc']);
    expect(events).toEqual([
      {
        kind: 'sandbox',
        outcome: 'warn',
        reason: 'MOUNT_UNDER_ROOT',
        detail: {
          mounts: ['host etc'],
          entries: [{ path: 'host etc', id: 90040, fsType: 'ext4', source: '/dev/vda', root: '/etc' }],
        },
      },
    ]);
    await sandbox.close();
  });

  it("refuses with mounts: 'refuse', naming the mount; fails closed when the table is unreadable", async () => {
    const mountInfoFile = await table([ROOT_LINE, `90040 90001 254:0 /etc ${fixture.root}/etc rw - ext4 /dev/vda rw`]);
    await expect(createSandbox(fixture.root, { mountInfoFile, mounts: 'refuse' })).rejects.toMatchObject({
      code: 'ERR_SANDBOX_CONFIG',
      message: `mount points lie below the sandbox root: mount 90040 at ${fixture.root}/etc (ext4 /dev/vda, root /etc)`,
    });
    await expect(
      createSandbox(fixture.root, { mountInfoFile: join(fixture.dir, 'none'), mounts: 'refuse' }),
    ).rejects.toMatchObject({ code: 'ERR_SANDBOX_UNSUPPORTED' });
  });

  it('refuses a root whose mount entry is the host root, whatever its path; unsafeAllowHostRoot forces it', async () => {
    const mountInfoFile = await table([ROOT_LINE, `90050 90001 254:0 / ${fixture.root} rw - ext4 /dev/vda rw`]);
    await expect(createSandbox(fixture.root, { mountInfoFile })).rejects.toMatchObject({
      code: 'ERR_SANDBOX_CONFIG',
      message: `sandbox root is on mount 90050 at ${fixture.root} (ext4 /dev/vda, root /), which exposes the host path / of /dev/vda (ext4); pass unsafeAllowHostRoot to force it`,
    });
    const forced = await createSandbox(fixture.root, { mountInfoFile, unsafeAllowHostRoot: true });
    await forced.close();
  });

  it('finds no mount below a plain temp directory in the real mount table', async () => {
    const sandbox = await createSandbox(fixture.root, { mounts: 'refuse' });
    expect(sandbox.mountsUnderRoot).toEqual([]);
    await sandbox.close();
  });

  it("walks synchronously on a local filesystem and asynchronously on a network one ('auto')", async () => {
    const local = await createSandbox(fixture.root, { mountInfoFile: await table([ROOT_LINE]) });
    expect(local.walk).toBe('sync');
    await local.close();
    const nfs = await table(['90001 1 0:60 / / rw - nfs4 server:/export rw']);
    const remote = await createSandbox(fixture.root, { mountInfoFile: nfs });
    expect(remote.walk).toBe('async');
    await remote.close();
    const fuseBelow = await table([ROOT_LINE, `90060 90001 0:61 / ${fixture.root}/f rw - fuse.sshfs host: rw`]);
    const mixed = await createSandbox(fixture.root, { mountInfoFile: fuseBelow, onAudit: () => undefined });
    expect(mixed.walk).toBe('async');
    await mixed.close();
    const forced = await createSandbox(fixture.root, { mountInfoFile: nfs, walk: 'sync' });
    expect(forced.walk).toBe('sync');
    await forced.close();
  });
});

const mountNamespaces = externalTools('real-mount sandbox tests', ['unshare'], MOUNT_NAMESPACES);

describe.runIf(mountNamespaces)('real mounts in a throw-away mount namespace', () => {
  let result: Record<string, unknown>;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'koa-mtls-mounts-'));
    try {
      const child = fileURLToPath(new URL('./mount-namespace.child.ts', import.meta.url));
      const run = spawnSync(
        'unshare',
        ['-m', '--propagation', 'private', process.execPath, '--import', 'tsx', child, dir],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (run.status !== 0) throw new Error(`mount namespace child failed: ${run.stderr}`);
      result = JSON.parse(run.stdout) as Record<string, unknown>;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('sees a bind mount of the same filesystem (st_dev unchanged) as a crossing, for reads and writes', () => {
    expect(result.sameDevice).toBe(true);
    for (const walk of ['sync', 'async']) {
      for (const flags of ['r', 'r+', 'w', 'a']) {
        expect(result[`${walk} bound dir ${flags}`]).toBe('CROSS_DEVICE');
        expect(result[`${walk} bound file ${flags}`]).toBe('CROSS_DEVICE');
      }
      for (const flags of ['w', 'wx', 'a', 'ax'])
        expect(result[`${walk} create in bound dir ${flags}`]).toBe('CROSS_DEVICE');
    }
    expect(result['inside r']).toBe('opened');
  });

  it('changes no outside byte or name while refusing', () => {
    expect(result.outsideUnchanged).toBe(true);
  });

  it('serves through a bind mount without noCrossDevice (the documented default)', () => {
    expect(result['no noCrossDevice: bound dir r']).toBe('opened');
  });

  it('sees a mount made after startup', () => {
    expect(result['late mount']).toBe('CROSS_DEVICE');
  });

  it("refuses a root that is a mount of the host's / or /proc, naming the mount", () => {
    expect(result['host / as root']).toMatch(
      /^ERR_SANDBOX_CONFIG: sandbox root is on mount \d+ at .*\/hostroot \(ext4 .*, root \/\), which exposes the host path \/ of/,
    );
    expect(result['host / as root, refuse']).toMatch(/^ERR_SANDBOX_CONFIG: sandbox root is on mount/);
    expect(result['host /etc below a host mount']).toMatch(/^ERR_SANDBOX_CONFIG: .*exposes the host path \/etc /);
    expect(result['host /proc as root']).toMatch(/^ERR_SANDBOX_CONFIG: .*exposes a proc filesystem/);
    expect(result['host /usr below a host mount']).toBe('created');
    expect(result['host / as root, ignore']).toBe('created');
    expect(result['host / as root, unsafeAllowHostRoot']).toBe('created');
  });

  it("refuses mounts below the root with mounts: 'refuse', naming them", () => {
    expect(result['refuse below']).toMatch(
      /^ERR_SANDBOX_CONFIG: mount points lie below the sandbox root: mount \d+ at .*\/ROOT\/bound/,
    );
  });

  it('accepts a private tmpfs as a root and walks it synchronously', () => {
    expect(result['tmpfs root']).toBe('created');
    expect(result['tmpfs walk']).toBe('sync');
  });
});
