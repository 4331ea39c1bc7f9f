/**
 * Runs inside `unshare -m --propagation private` (a throw-away mount namespace: every mount made here disappears
 * with the process). `argv[2]` is a fresh temp directory. Prints one JSON object: scenario name → outcome.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxOpenFlags } from '../../src/sandbox/fd-walk.js';
import { createSandbox, type SandboxOptions } from '../../src/sandbox/sandbox.js';

const dir = process.argv[2] as string;
const mount = (...args: string[]): void => {
  execFileSync('mount', args, { stdio: 'ignore' });
};
const CANARY = 'CANARY-outside-bytes';
const root = join(dir, 'ROOT');
const outside = join(dir, 'outside');
for (const d of [
  root,
  outside,
  join(root, 'bound'),
  join(root, 'late'),
  join(dir, 'hostroot'),
  join(dir, 'hostproc'),
]) {
  mkdirSync(d, { recursive: true });
}
writeFileSync(join(outside, 'secret.txt'), CANARY);
writeFileSync(join(root, 'inside.txt'), 'inside');
writeFileSync(join(root, 'file.txt'), 'inside');
// A directory of the same filesystem bound below the root (st_dev unchanged) and one file bound over an inside file.
mount('--bind', outside, join(root, 'bound'));
mount('--bind', join(outside, 'secret.txt'), join(root, 'file.txt'));

const outsideState = (): string =>
  JSON.stringify([readdirSync(outside).sort(), readFileSync(join(outside, 'secret.txt'), 'latin1')]);

async function outcome(options: SandboxOptions, name: string, flags: SandboxOpenFlags): Promise<string> {
  const sandbox = await createSandbox(root, { mounts: 'ignore', ...options });
  try {
    const handle = await sandbox.open(name, { flags });
    await handle.close();
    return 'opened';
  } catch (err) {
    return String((err as { reason?: string; code?: string }).reason ?? (err as { code?: string }).code);
  } finally {
    await sandbox.close();
  }
}

async function startupError(path: string, options: SandboxOptions = {}): Promise<string> {
  try {
    const sandbox = await createSandbox(path, options);
    await sandbox.close();
    return 'created';
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
}

const result: Record<string, unknown> = {};
const before = outsideState();
result.sameDevice = statSync(join(root, 'bound')).dev === statSync(root).dev;
for (const walk of ['sync', 'async'] as const) {
  for (const flags of ['r', 'r+', 'w', 'a'] as const) {
    result[`${walk} bound dir ${flags}`] = await outcome({ noCrossDevice: true, walk }, 'bound/secret.txt', flags);
    result[`${walk} bound file ${flags}`] = await outcome({ noCrossDevice: true, walk }, 'file.txt', flags);
  }
  for (const flags of ['w', 'wx', 'a', 'ax'] as const) {
    result[`${walk} create in bound dir ${flags}`] = await outcome(
      { noCrossDevice: true, walk },
      'bound/new.txt',
      flags,
    );
  }
}
result['no noCrossDevice: bound dir r'] = await outcome({}, 'bound/secret.txt', 'r');
result['inside r'] = await outcome({ noCrossDevice: true }, 'inside.txt', 'r');
result.outsideUnchanged = outsideState() === before;

// A mount made after startup is seen by the next open.
{
  const sandbox = await createSandbox(root, { mounts: 'ignore', noCrossDevice: true });
  mount('-t', 'tmpfs', 'late', join(root, 'late'));
  writeFileSync(join(root, 'late', 'x.txt'), 'late');
  try {
    await (await sandbox.open('late/x.txt')).close();
    result['late mount'] = 'opened';
  } catch (err) {
    result['late mount'] = (err as { reason?: string }).reason;
  }
  await sandbox.close();
}

// The startup mount policy, judged by the mount entry.
result['refuse below'] = await startupError(root, { mounts: 'refuse' });
mount('--bind', '/', join(dir, 'hostroot'));
mount('--bind', '/proc', join(dir, 'hostproc'));
result['host / as root'] = await startupError(join(dir, 'hostroot'));
result['host / as root, refuse'] = await startupError(join(dir, 'hostroot'), { mounts: 'refuse' });
result['host /etc below a host mount'] = await startupError(join(dir, 'hostroot', 'usr', '..', 'etc'), {
  unsafeAllowHostRoot: false,
});
result['host /usr below a host mount'] = await startupError(join(dir, 'hostroot', 'usr'));
result['host /proc as root'] = await startupError(join(dir, 'hostproc'));
result['host / as root, ignore'] = await startupError(join(dir, 'hostroot'), { mounts: 'ignore' });
result['host / as root, unsafeAllowHostRoot'] = await startupError(join(dir, 'hostroot'), {
  unsafeAllowHostRoot: true,
});
const tmp = join(dir, 'tmpfsroot');
mkdirSync(tmp);
mount('-t', 'tmpfs', 'private', tmp);
result['tmpfs root'] = await startupError(tmp, { mounts: 'refuse' });
{
  const sandbox = await createSandbox(tmp);
  result['tmpfs walk'] = sandbox.walk;
  await sandbox.close();
}
process.stdout.write(JSON.stringify(result));
