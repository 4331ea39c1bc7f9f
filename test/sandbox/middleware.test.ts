import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { pipeline } from 'node:stream/promises';
import Router from '@koa/router';
import Koa from 'koa';
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { InvalidOptionError } from '../../src/errors.js';
import { ROUTE_METADATA, routeMetadataOf } from '../../src/routes/route-metadata.js';
import { type SandboxedRequestPath, sandboxPath } from '../../src/sandbox/middleware.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { close, listen } from '../helpers/listen.js';
import { type Fixture, insideContent, loadTraversalPayloads, makeFixture, openFdCount } from './fixture.js';

let fixture: Fixture;
let sandbox: Sandbox;
let server: Server;
let port: number;
const events: AuditEvent[] = [];
let handlerRuns = 0;

/** Sends a raw request path (no client-side normalisation, unlike fetch) to 127.0.0.1. */
function raw(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; agent?: Agent | false } = {},
): Promise<{ status: number; body: string; elapsed: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: options.agent ?? false,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, elapsed: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

beforeAll(async () => {
  fixture = await makeFixture([
    'f.txt',
    'do..ts.txt',
    'd/g.txt',
    'up/',
    'abs => $DIR/OUTSIDE',
    'rel_esc => ../OUTSIDE',
    'in_link => f.txt',
    'k8s/..2025_01_01/tls.crt',
    'k8s/..data => ..2025_01_01',
    'k8s/tls.crt => ..data/tls.crt',
    'fifo |fifo',
  ]);
  sandbox = await createSandbox(fixture.root);
  const onAudit = (event: AuditEvent): void => {
    events.push(event);
  };
  const serve = async (ctx: Koa.Context): Promise<void> => {
    handlerRuns++;
    const handle = await ctx.state.sandboxed?.open();
    ctx.type = 'text/plain';
    ctx.body = handle?.createReadStream();
  };
  const router = new Router();
  router.get('/files/:name', sandboxPath({ sandbox, from: (ctx) => ctx.params.name, onAudit }), serve);
  router.get('/tree/*rest', sandboxPath({ sandbox, from: (ctx) => ctx.params.rest, onAudit }), serve);
  router.get('/q', sandboxPath({ sandbox, from: (ctx) => ctx.query.f, onAudit }), serve);
  router.get('/h', sandboxPath({ sandbox, from: (ctx) => ctx.get('x-file'), onAudit }), serve);
  router.get(
    '/p/*rest',
    sandboxPath({ sandbox, from: (ctx) => ctx.path.slice('/p/'.length), decode: true, onAudit }),
    serve,
  );
  router.put('/up/:name', sandboxPath({ sandbox, from: (ctx) => `up/${ctx.params.name}`, onAudit }), async (ctx) => {
    handlerRuns++;
    const handle = await ctx.state.sandboxed?.open('wx');
    if (handle === undefined) throw new Error('unreachable');
    await pipeline(ctx.req, handle.createWriteStream());
    ctx.status = 201;
  });
  const app = new Koa();
  app.use(router.routes());
  server = createServer(app.callback());
  port = await listen(server);
});

afterAll(async () => {
  await close(server);
  await sandbox.close();
  await fixture.cleanup();
});

beforeEach(() => {
  events.length = 0;
  handlerRuns = 0;
});

describe('sandboxPath over raw HTTP', () => {
  it.each([
    ['/files/f.txt', 'f.txt'],
    ['/files/do..ts.txt', 'do..ts.txt'],
    ['/files/d%2Fg.txt', 'd/g.txt'], // one param may hold an encoded slash: decoded once by the router
    ['/files/in_link', 'f.txt'],
    ['/files/k8s%2Ftls.crt', 'k8s/..2025_01_01/tls.crt'],
    ['/tree/d/g.txt', 'd/g.txt'],
    ['/q?f=f.txt', 'f.txt'],
    ['/p/d%2Fg.txt', 'd/g.txt'],
  ])('serves %s', async (path, file) => {
    const res = await raw(path);
    expect(res).toMatchObject({ status: 200, body: insideContent(file) });
    expect(events.at(-1)).toMatchObject({ kind: 'sandbox', outcome: 'allow', reason: 'OPENED' });
  });

  it('serves a header-named file', async () => {
    const res = await raw('/h', { headers: { 'x-file': 'd/g.txt', 'x-request-id': 'req-1' } });
    expect(res).toMatchObject({ status: 200, body: insideContent('d/g.txt') });
    expect(events.at(-1)).toMatchObject({ requestId: 'req-1', detail: { path: 'd/g.txt', resolved: 'd/g.txt' } });
  });

  describe('when the input breaks a lexical rule', () => {
    it.each([
      ['/files/..%2FOUTSIDE', 'PATH_DOT_SEGMENT'],
      ['/files/%2e%2e%2fOUTSIDE', 'PATH_DOT_SEGMENT'],
      ['/files/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd', 'PATH_DOT_SEGMENT'],
      ['/files/..%252fOUTSIDE', 'PATH_PERCENT'], // decoded once only: %2f stays
      ['/files/%252e%252e%252f', 'PATH_PERCENT'],
      ['/files/%c0%ae%c0%ae%2fOUTSIDE', 'PATH_PERCENT'], // the router keeps malformed input raw
      ['/files/%2fetc%2fpasswd', 'PATH_ABSOLUTE'],
      ['/files/..%5c..%5cOUTSIDE', 'PATH_BACKSLASH'],
      ['/files/f.txt%00.png', 'PATH_CONTROL_CHAR'],
      ['/files/.env', 'PATH_DOTFILE'],
      ['/files/k8s%2F..data%2Ftls.crt', 'PATH_DOTFILE'],
      ['/files/C%3A%5Cwin.ini', 'PATH_BACKSLASH'],
      ['/files/%EF%BC%8E%EF%BC%8E%2FOUTSIDE', 'PATH_NOT_NFKC'],
      ['/files/CON', 'PATH_WINDOWS_DEVICE'],
      ['/tree/../OUTSIDE', 'PATH_DOT_SEGMENT'], // raw `..`: Koa does not normalise ctx.path
      ['/tree/d//g.txt', 'PATH_EMPTY_SEGMENT'],
      ['/tree/d/', 'PATH_TRAILING_SLASH'],
      ['/tree/./f.txt', 'PATH_DOT_SEGMENT'],
      ['/q?f=f.txt&f=d/g.txt', 'PATH_NOT_STRING'], // repeated key: an array
      ['/q', 'PATH_NOT_STRING'],
      ['/q?f=..%2FOUTSIDE', 'PATH_DOT_SEGMENT'],
      ['/q?f=%c0%ae%c0%ae', 'PATH_REPLACEMENT_CHAR'], // querystring turns overlong UTF-8 into U+FFFD
      ['/p/%252e%252e%252fOUTSIDE', 'PATH_PERCENT'],
      ['/p/bad%E0%A4%A', 'PATH_MALFORMED_ENCODING'],
    ])('answers 400 to %s (%s) without running the handler', async (path, reason) => {
      const res = await raw(path);
      expect(res).toMatchObject({ status: 400, body: 'Bad Request' });
      expect(handlerRuns).toBe(0);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'sandbox', outcome: 'reject', reason });
    });

    it('answers 400 to a header path that climbs', async () => {
      const res = await raw('/h', { headers: { 'x-file': '../OUTSIDE' } });
      expect(res).toMatchObject({ status: 400, body: 'Bad Request' });
      expect(handlerRuns).toBe(0);
    });
  });

  describe('when the filesystem refuses the path', () => {
    it.each([
      ['/files/missing.txt', 'NOT_FOUND'],
      ['/files/abs', 'SYMLINK_ABSOLUTE'],
      ['/files/rel_esc', 'SYMLINK_ESCAPE'],
      ['/files/d', 'NOT_REGULAR_FILE'],
      ['/files/fifo', 'NOT_REGULAR_FILE'],
      ['/tree/f.txt/x', 'NOT_DIRECTORY'],
    ])('answers a uniform 404 to %s (%s)', async (path, reason) => {
      const res = await raw(path);
      expect(res).toMatchObject({ status: 404, body: 'Not Found' });
      expect(res.body).not.toContain(fixture.canary);
      expect(events).toEqual([
        expect.objectContaining({ kind: 'sandbox', outcome: 'deny', reason, detail: expect.any(Object) }),
      ]);
      expect(JSON.stringify(events)).not.toContain(fixture.root);
    });

    it('answers a FIFO within 100 ms', async () => {
      const res = await raw('/files/fifo');
      expect(res.status).toBe(404);
      expect(res.elapsed).toBeLessThan(100);
    });
  });

  it('creates an upload exclusively, then 404s a second upload to the same name', async () => {
    expect(await raw('/up/new.bin', { method: 'PUT', body: 'data' })).toMatchObject({ status: 201 });
    expect(await raw('/up/new.bin', { method: 'PUT', body: 'other' })).toMatchObject({
      status: 404,
      body: 'Not Found',
    });
    expect(events.at(-1)).toMatchObject({ outcome: 'deny', reason: 'EXISTS' });
    expect(await raw('/files/up%2Fnew.bin')).toMatchObject({ status: 200, body: 'data' });
  });

  it('never answers with the canary or the root, whatever the payload', async () => {
    const payloads = [
      '/files/..%2F..%2F..%2Fetc%2Fpasswd',
      '/tree/abs',
      '/tree/rel_esc',
      '/tree/..%2FROOT2%2Fsecret.txt',
      '/tree/%2E%2E/ROOT2/secret.txt',
      '/files/test%2F..%2F..%2FROOT%2Ff.txt',
    ];
    for (const path of payloads) {
      const res = await raw(path);
      expect([400, 404]).toContain(res.status);
      expect(res.body).not.toContain(fixture.canary);
      expect(res.body).not.toContain(fixture.dir);
    }
  });

  it('leaks no descriptor over a thousand requests', async () => {
    await raw('/files/f.txt');
    const before = await openFdCount();
    const paths = ['/files/f.txt', '/files/rel_esc', '/files/..%2Fx', '/files/fifo', '/files/k8s%2Ftls.crt'];
    for (let round = 0; round < 200; round++) await Promise.all(paths.map((p) => raw(p)));
    // Sockets close asynchronously after the response: wait until the count settles (bounded).
    for (let i = 0; i < 50 && (await openFdCount()) > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await openFdCount()).toBeLessThanOrEqual(before);
  });
});

const payloads = loadTraversalPayloads();

describe.skipIf(payloads === undefined)('when every public traversal payload is sent as a raw path', () => {
  /** Percent-encodes only what cannot travel raw in a request line (and `?`, `#`), so the router decodes once. */
  const asRawPath = (line: string): string =>
    [...line]
      .map((c) => {
        const code = c.codePointAt(0) ?? 0;
        return code <= 0x20 || code >= 0x7f || c === '?' || c === '#' ? encodeURIComponent(c) : c;
      })
      .join('');

  it('answers 400 or 404 to each, never with the canary or the root', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const statuses = new Map<number, number>();
    try {
      const lines = payloads ?? [];
      for (let i = 0; i < lines.length; i += 8) {
        const batch = lines.slice(i, i + 8).map((line) => raw(`/tree/${asRawPath(line)}`, { agent }));
        for (const res of await Promise.all(batch)) {
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.body).not.toContain(fixture.canary);
          expect(res.body).not.toContain(fixture.dir);
        }
      }
    } finally {
      agent.destroy();
    }
    expect([...statuses.keys()].sort()).toEqual([400, 404]);
    expect(statuses.get(400)).toBeGreaterThan(1800);
    expect(handlerRuns).toBeLessThan(60); // only the few lexically valid plain names reach the handler (then 404)
  });
});

/** Serves `app` on 127.0.0.1:0 for the duration of `run`, pointing raw() at it. */
async function withApp(app: Koa, run: () => Promise<void>): Promise<void> {
  const s = createServer(app.callback());
  const previous = port;
  port = await listen(s);
  try {
    await run();
  } finally {
    port = previous;
    await close(s);
  }
}

describe('when the sandbox has allow and deny globs', () => {
  it('answers 404 before the handler runs, and audits the glob reason', async () => {
    const guarded = await createSandbox(fixture.root, { allow: ['*.txt', 'd/*'], deny: ['d/secret*'] });
    const seen: AuditEvent[] = [];
    let ran = 0;
    const app = new Koa();
    app.use(sandboxPath({ sandbox: guarded, from: (ctx) => ctx.query.f, onAudit: (e) => seen.push(e) }));
    app.use(async (ctx) => {
      ran++;
      const handle = await ctx.state.sandboxed?.open();
      ctx.body = handle?.createReadStream();
    });
    await withApp(app, async () => {
      expect(await raw('/?f=f.txt')).toMatchObject({ status: 200, body: insideContent('f.txt') });
      expect(await raw('/?f=k8s%2Ftls.crt')).toMatchObject({ status: 404, body: 'Not Found' });
      expect(await raw('/?f=d%2Fsecret.txt')).toMatchObject({ status: 404, body: 'Not Found' });
      expect(await raw('/?f=..%2FOUTSIDE')).toMatchObject({ status: 400, body: 'Bad Request' });
    });
    expect(ran).toBe(1);
    expect(seen.map((e) => `${e.outcome} ${e.reason}`)).toEqual([
      'allow OPENED',
      'deny GLOB_NOT_ALLOWED',
      'deny GLOB_DENIED',
      'reject PATH_DOT_SEGMENT',
    ]);
    await guarded.close();
  });
});

describe('audit hooks', () => {
  it('a throwing hook fails the request (500) and never turns a denial into an allow', async () => {
    const app = new Koa();
    let ran = false;
    const hook = (): void => {
      throw new Error('audit sink down');
    };
    app.use(sandboxPath({ sandbox, from: (ctx) => ctx.query.f, onAudit: hook }));
    app.use(async (ctx) => {
      ran = true;
      const handle = await ctx.state.sandboxed?.open();
      await handle?.close();
      ctx.body = 'opened';
    });
    app.silent = true;
    await withApp(app, async () => {
      expect((await raw('/?f=..%2Fx')).status).toBe(500);
      expect(ran).toBe(false);
      const before = await openFdCount();
      expect((await raw('/?f=f.txt')).status).toBe(500);
      expect(await openFdCount()).toBeLessThanOrEqual(before + 1); // at most a socket still closing
    });
  });
});

describe('sandboxPath()', () => {
  it('types ctx.state.sandboxed through Koa DefaultState augmentation', () => {
    const handler = (ctx: Koa.ParameterizedContext): void => {
      expectTypeOf(ctx.state.sandboxed).toEqualTypeOf<SandboxedRequestPath | undefined>();
    };
    expect(handler).toBeTypeOf('function');
  });

  it('names its middleware and carries non-enumerable route metadata without the root in enumerable keys', async () => {
    const guarded = await createSandbox(fixture.root, { symlinks: 'none', allow: ['*.txt'], deny: ['secret*'] });
    const mw = sandboxPath({ sandbox: guarded, from: (ctx) => ctx.query.f });
    expect(mw.name).toBe('sandboxedPath');
    expect(Object.keys(mw)).toEqual([]);
    expect(JSON.stringify(mw)).toBeUndefined();
    expect(routeMetadataOf(mw)).toEqual({
      kind: 'sandboxPath',
      root: fixture.root,
      symlinks: 'none',
      mode: 'fd-walk',
      allow: ['*.txt'],
      deny: ['secret*'],
    });
    expect(Object.getOwnPropertyDescriptor(mw, ROUTE_METADATA)?.enumerable).toBe(false);
    expect(routeMetadataOf(() => undefined)).toBeUndefined();
    await guarded.close();
  });

  /** Every member of the Sandbox interface, delegating to a real sandbox, with a `check` that accepts anything. */
  const lookAlike = (): Sandbox => ({
    root: sandbox.root,
    symlinks: sandbox.symlinks,
    mode: sandbox.mode,
    mountsUnderRoot: sandbox.mountsUnderRoot,
    walk: sandbox.walk,
    closed: false,
    allow: null,
    deny: [],
    validate: (input) => sandbox.validate(input),
    check: (input) => ({ ok: true, path: String(input), segments: String(input).split('/') }),
    open: (path, options) => sandbox.open(path, options),
    openDetailed: (path, options) => sandbox.openDetailed(path, options),
    resolve: (path) => sandbox.resolve(path),
    close: async () => undefined,
  });

  const invalid: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
    [{ from: () => 'x' }, 'options.sandbox'],
    [{ sandbox: { open() {} }, from: () => 'x' }, 'options.sandbox'],
    [{ sandbox: 'LOOK-ALIKE', from: () => 'x' }, 'options.sandbox'],
    [{ sandbox: 'SANDBOX' }, 'options.from'],
    [{ sandbox: 'SANDBOX', from: 'params.name' }, 'options.from'],
    [{ sandbox: 'SANDBOX', from: () => 'x', decode: 'yes' }, 'options.decode'],
    [{ sandbox: 'SANDBOX', from: () => 'x', onaudit: () => undefined }, 'options.onaudit'],
  ];
  it.each(invalid)('throws InvalidOptionError for %j', (options, path) => {
    const withSandbox = Object.fromEntries(
      Object.entries(options).map(([k, v]) => [k, v === 'SANDBOX' ? sandbox : v === 'LOOK-ALIKE' ? lookAlike() : v]),
    ) as never;
    expect(() => sandboxPath(withSandbox)).toThrow(InvalidOptionError);
    expect(() => sandboxPath(withSandbox)).toThrow(expect.objectContaining({ path }));
  });
});
