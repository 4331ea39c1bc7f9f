import { readlink, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { makeFixture } from './fixture.js';

/**
 * cap-std-fuzz style: random trees of directories, files and symlinks (relative, absolute, escaping, looping), then
 * random requests. Oracles: (1) no read ever returns the outside CANARY; (2) an opened descriptor's kernel path lies
 * under the root; (3) differential, like cap-std's `racy_asserts`: with nothing racing, whatever the sandbox opens is
 * the very inode the kernel's own resolution of the same path reaches.
 */
/** Every tree has these; links are added at random places with random relative or absolute targets. */
const BASE = ['f', 'a/f', 'a/b/f', 'c/'];
const LINK_AT = ['l1', 'l2', 'l3', 'a/l1', 'a/l2', 'a/b/l3', 'c/l1'] as const;
const TOKENS = ['a', 'b', 'c', 'f', 'l1', 'l2', 'l3', '..', '..', '.', 'OUTSIDE', 'outdir', 'passwd'] as const;

/** Targets that mean something in BASE (in-root, escaping, chained), mixed with random token strings. */
const MEANINGFUL = ['f', 'a/f', 'a', 'a/b', '../f', '../../f', '..', '../a/f', 'l1', 'l2/f', 'a/l1', '../l1', 'b/../f'];
const ESCAPING = ['../OUTSIDE', '../../outdir/passwd', '../outdir', '../../OUTSIDE', 'a/../../OUTSIDE', '../ROOT/f'];

const link = fc.record({
  target: fc.oneof(
    fc.constantFrom(...MEANINGFUL),
    fc.constantFrom(...ESCAPING),
    fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 4 }).map((t) => t.join('/')),
  ),
  absolute: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
});

const request = fc.oneof(
  {
    arbitrary: fc.constantFrom(...LINK_AT, 'l1/f', 'l2/f', 'l3/f', 'a/l1/f', 'l1/b/f', 'l2/l1', 'c/l1/f', 'a/b/f'),
    weight: 4,
  },
  fc
    .array(fc.constantFrom('l1', 'l2', 'l3', 'a', 'b', 'c', 'f'), { minLength: 1, maxLength: 3 })
    .map((r) => r.join('/')),
);

describe('fd walk over random trees (properties)', () => {
  it('never escapes, and agrees with the kernel whenever it opens something', async () => {
    const seen = { opened: 0, openedThroughLinks: 0, escapesRefused: 0 };
    // Every tree has a link at each LINK_AT place; `absolute` prefixes the target with the root's absolute path.
    await fc.assert(
      fc.asyncProperty(
        fc.array(link, { minLength: LINK_AT.length, maxLength: LINK_AT.length }),
        fc.array(request, { minLength: 1, maxLength: 10 }),
        fc.constantFrom('in-root' as const, 'in-root' as const, 'in-root' as const, 'none' as const),
        async (entries, requests, symlinks) => {
          const layout = [
            ...BASE,
            ...entries.map((l, i) => `${LINK_AT[i]} => ${l.absolute ? '$DIR/ROOT/' : ''}${l.target}`),
          ];
          const fixture = await makeFixture(layout, { tolerant: true });
          const sandbox = await createSandbox(fixture.root, { symlinks });
          try {
            for (const relative of requests) {
              let handle: Awaited<ReturnType<typeof sandbox.open>>;
              try {
                handle = await sandbox.open(relative);
              } catch (err) {
                expect(err).toMatchObject({ status: expect.any(Number) });
                if (/ESCAPE|ABSOLUTE/.test(String((err as { reason?: string }).reason))) seen.escapesRefused++;
                continue;
              }
              try {
                expect(await handle.readFile('utf8')).not.toBe(fixture.canary);
                const kernelPath = await readlink(`/proc/self/fd/${handle.fd}`);
                expect(kernelPath.startsWith(`${fixture.root}/`)).toBe(true);
                seen.opened++;
                if (kernelPath !== join(fixture.root, relative)) seen.openedThroughLinks++;
                const opened = await handle.stat();
                const viaKernel = await stat(await realpath(join(fixture.root, relative)));
                expect([viaKernel.dev, viaKernel.ino]).toEqual([opened.dev, opened.ino]);
              } finally {
                await handle.close();
              }
            }
          } finally {
            await sandbox.close();
            await fixture.cleanup();
          }
        },
      ),
      { numRuns: 150 },
    );
    // The generator really exercises the interesting cases (a property that never opens anything proves nothing).

    expect(seen.opened).toBeGreaterThan(20);
    expect(seen.openedThroughLinks).toBeGreaterThan(3);
    expect(seen.escapesRefused).toBeGreaterThan(0);
  });
});
