/**
 * Runs under a low `ulimit -n` (prlimit). Fills the descriptor table with /dev/null until EMFILE, then frees exactly
 * `free` descriptors and opens a file 32 components deep through `sandboxPath`. Prints one JSON object per `free`.
 */
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'koa';
import type { AuditEvent } from '../../src/audit/event.js';
import { sandboxPath } from '../../src/sandbox/middleware.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';

const walk = process.argv[2] as 'sync' | 'async';
const dir = mkdtempSync(join(tmpdir(), 'koa-mtls-fds-'));
const deep = `${Array.from({ length: 31 }, (_, i) => `d${i}`).join('/')}/f.txt`;
mkdirSync(join(dir, deep, '..'), { recursive: true });
writeFileSync(join(dir, deep), 'deep');
const sandbox = await createSandbox(dir, { walk });
const events: AuditEvent[] = [];
const middleware = sandboxPath({ sandbox, from: () => deep, onAudit: (e) => events.push(e) });

async function request(): Promise<{ status: number; body?: string; reason?: string | undefined }> {
  const ctx = { state: {}, get: () => '' } as unknown as Context;
  events.length = 0;
  try {
    let body = '';
    await middleware(ctx, async () => {
      const handle = await (ctx.state.sandboxed as { open(): Promise<import('node:fs/promises').FileHandle> }).open();
      body = await handle.readFile('utf8');
      await handle.close();
    });
    return { status: 200, body };
  } catch (err) {
    return { status: (err as { status: number }).status, reason: events.at(-1)?.reason };
  }
}

const realDir = realpathSync(dir);
// Only descriptors into the sandbox count: the runtime opens and closes its own (loader pipes, workers) meanwhile.
const openFds = (): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(realDir);
    } catch {
      return false;
    }
  }).length;
const baseline = openFds();
const fillers: number[] = [];
const fill = (): void => {
  for (;;) {
    try {
      fillers.push(openSync('/dev/null', 'r'));
    } catch {
      return;
    }
  }
};
const results: Record<string, unknown> = {};
for (const free of [2, 1, 0]) {
  fill();
  for (let i = 0; i < free; i++) closeSync(fillers.pop() as number);
  results[`free ${free}`] = await request();
}
for (const fd of fillers.splice(0)) closeSync(fd);
results.after = await request();
results.leaked = openFds() - baseline;
await sandbox.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify(results));
