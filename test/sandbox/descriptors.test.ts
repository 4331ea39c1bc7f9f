import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { externalTools } from '../helpers/external-tools.js';

/**
 * A walk holds a constant number of descriptors (the current directory and the next, besides the root), and running
 * out of them is a 503 with a reason, not a 500. Before, a walk 32 components deep held 33 descriptors.
 */
const hasPrlimit = externalTools('descriptor-limit tests', ['prlimit'], {
  what: 'prlimit(1) allowed to lower RLIMIT_NOFILE',
  met: () => spawnSync('prlimit', ['--nofile=64', 'true']).status === 0,
});

describe.runIf(hasPrlimit)('under a low ulimit -n (a child under prlimit)', () => {
  const child = fileURLToPath(new URL('./descriptors.child.ts', import.meta.url));

  it.each(['sync', 'async'])('walk %s: 32 components deep fit in two free descriptors; none free is a 503', (walk) => {
    const run = spawnSync('prlimit', ['--nofile=128', process.execPath, '--import', 'tsx', child, walk], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      'free 2': { status: 200, body: 'deep' },
      'free 1': { status: 503, reason: 'DESCRIPTORS_EXHAUSTED' },
      'free 0': { status: 503, reason: 'DESCRIPTORS_EXHAUSTED' },
      after: { status: 200, body: 'deep' },
      leaked: 0,
    });
  });
});
