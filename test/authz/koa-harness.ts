/**
 * A real Koa app over plain HTTP on 127.0.0.1:0 for authorization tests. A test-only middleware sets
 * `ctx.state.peer` from a fixture chosen by the `x-test-peer` header (standing in for `peerCertificate()`; the
 * end-to-end TLS tests live with the integration suite).
 */
import { createServer } from 'node:http';
import Koa, { type Middleware } from 'koa';
import type { PeerIdentity } from '../../src/identity/peer-identity.js';
import { close, listen } from '../helpers/listen.js';

export interface Harness {
  /** Requests `path` as the fixture peer `peer` (none when omitted). */
  request(path: string, peer?: string, headers?: Record<string, string>): Promise<{ status: number; body: string }>;
  /** How many times the protected handler ran. */
  readonly handlerRuns: () => number;
  /** Errors Koa emitted on the app (denials included: Koa emits every error). */
  readonly errors: unknown[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Middleware mounted before the guard (e.g. a user error handler). */
  readonly before?: Middleware;
  /** The protected handler; default answers 200 `handled`. */
  readonly handler?: Middleware;
}

export async function serve(
  guard: Middleware,
  peers: Readonly<Record<string, PeerIdentity>>,
  options: HarnessOptions = {},
): Promise<Harness> {
  const app = new Koa();
  const errors: unknown[] = [];
  let runs = 0;
  app.on('error', (error: unknown) => errors.push(error));
  if (options.before !== undefined) app.use(options.before);
  app.use(async function setTestPeer(ctx, next) {
    const peer = peers[ctx.get('x-test-peer')];
    if (peer !== undefined) ctx.state.peer = peer;
    await next();
  });
  app.use(guard);
  const handler: Middleware =
    options.handler ??
    ((ctx) => {
      ctx.body = 'handled';
    });
  app.use(async (ctx, next) => {
    runs++;
    await handler(ctx, next);
  });
  const server = createServer(app.callback());
  const port = await listen(server);
  return {
    async request(path, peer, headers = {}) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        headers: { ...headers, ...(peer === undefined ? {} : { 'x-test-peer': peer }) },
      });
      return { status: response.status, body: await response.text() };
    },
    handlerRuns: () => runs,
    errors,
    close: () => close(server),
  };
}
