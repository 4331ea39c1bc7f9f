import { createHash } from 'node:crypto';
import { utimesSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { sandboxPath } from '../../src/sandbox/middleware.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { BUFFERED_READ_BYTES, SYNC_READ_BYTES } from '../../src/sandbox/send-file.js';
import { close, listen } from '../helpers/listen.js';
import { type Fixture, makeFixture, openFdCount } from './fixture.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

const MTIME = new Date('2026-01-02T03:04:05Z');
const large = Buffer.alloc(BUFFERED_READ_BYTES * 2 + 3, 'x');
const limit = Buffer.alloc(SYNC_READ_BYTES, 'y');
const buffered = Buffer.alloc(BUFFERED_READ_BYTES, 'z');

let fixture: Fixture;

beforeAll(async () => {
  fixture = await makeFixture(['note.txt', 'page.html', 'blob.unknownext', 'empty.txt', 'escape.txt => ../OUTSIDE']);
  writeFileSync(join(fixture.root, 'large.bin'), large);
  writeFileSync(join(fixture.root, 'limit.bin'), limit);
  writeFileSync(join(fixture.root, 'buffered.bin'), buffered);
  writeFileSync(join(fixture.root, 'empty.txt'), '');
  utimesSync(join(fixture.root, 'note.txt'), MTIME, MTIME);
});

afterAll(async () => {
  await fixture.cleanup();
});

function get(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Descriptors closed without being awaited (small files, streams) close shortly after the response. */
async function settledFdCount(): Promise<number> {
  let previous = await openFdCount();
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = await openFdCount();
    if (now === previous) return now;
    previous = now;
  }
  return previous;
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

for (const walk of ['sync', 'async'] as const) {
  describe(`send() on a sandbox with a ${walk} walk`, () => {
    let sandbox: Sandbox;
    let server: Server;
    let port: number;
    const events: AuditEvent[] = [];
    let after = 0;

    beforeAll(async () => {
      sandbox = await createSandbox(fixture.root, { walk });
      const app = new Koa();
      app.use(async (ctx, next) => {
        if (ctx.path === '/typed/page.html') ctx.type = 'text/plain';
        await next();
      });
      app.use(
        sandboxPath({ sandbox, from: (ctx) => ctx.path.replace(/^\/(typed\/)?/, ''), onAudit: (e) => events.push(e) }),
      );
      app.use(async (ctx) => {
        await ctx.state.sandboxed?.send();
        after++;
      });
      server = createServer(app.callback());
      port = await listen(server);
    });

    afterAll(async () => {
      await close(server);
      await sandbox.close();
    });

    it('answers a small file with its bytes, length, type from the name, modification time and nosniff', async () => {
      const answer = await get(port, '/note.txt');
      expect(answer.status).toBe(200);
      expect(answer.body.toString()).toBe('inside:note.txt');
      expect(answer.headers['content-length']).toBe(String('inside:note.txt'.length));
      expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(answer.headers['last-modified']).toBe(MTIME.toUTCString());
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
    });

    it('reads a file of exactly the synchronous-read size in one piece', async () => {
      const answer = await get(port, '/limit.bin');
      expect(answer.status).toBe(200);
      expect(answer.headers['content-length']).toBe(String(limit.length));
      expect(sha(answer.body)).toBe(sha(limit));
    });

    it('reads a file of exactly the buffered size in one piece', async () => {
      const answer = await get(port, '/buffered.bin');
      expect(answer.status).toBe(200);
      expect(answer.headers['content-length']).toBe(String(buffered.length));
      expect(sha(answer.body)).toBe(sha(buffered));
    });

    it('streams a larger file with its exact length', async () => {
      const answer = await get(port, '/large.bin');
      expect(answer.status).toBe(200);
      expect(answer.headers['content-length']).toBe(String(large.length));
      expect(answer.headers['content-type']).toBe('application/octet-stream');
      expect(sha(answer.body)).toBe(sha(large));
    });

    it('answers an empty file with an empty body', async () => {
      const answer = await get(port, '/empty.txt');
      expect(answer.status).toBe(200);
      expect(answer.headers['content-length']).toBe('0');
      expect(answer.body.length).toBe(0);
    });

    it('labels an unknown extension application/octet-stream and keeps a type the app set', async () => {
      expect((await get(port, '/blob.unknownext')).headers['content-type']).toBe('application/octet-stream');
      expect((await get(port, '/typed/page.html')).headers['content-type']).toBe('text/plain; charset=utf-8');
    });

    it('refuses an escaping link with a 404 that names nothing, audits it, and runs nothing after send()', async () => {
      const before = after;
      const answer = await get(port, '/escape.txt');
      expect(answer.status).toBe(404);
      expect(answer.body.toString()).toBe('Not Found');
      expect(answer.body.toString()).not.toContain(fixture.canary);
      expect(after).toBe(before);
      expect(events.at(-1)).toMatchObject({ kind: 'sandbox', outcome: 'deny', reason: 'SYMLINK_ESCAPE' });
    });

    it('closes every descriptor: small files, streamed files, HEAD requests', async () => {
      const baseline = await settledFdCount();
      for (let i = 0; i < 50; i++) {
        await get(port, '/note.txt');
        await get(port, '/large.bin');
        const head = await get(port, '/large.bin', 'HEAD');
        expect(head.headers['content-length']).toBe(String(large.length));
        expect(head.body.length).toBe(0);
      }
      expect(await settledFdCount()).toBe(baseline);
    });
  });
}
