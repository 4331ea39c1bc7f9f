/**
 * Every x509-limbo case through the public forwarded-certificate path: a real HTTP server on loopback,
 * `peerCertificate` with an RFC 9440 `Client-Cert` source from a trusted proxy address, re-verified against the
 * case's roots, intermediates and CRLs at the case's time. The forwarded path validates for client authentication,
 * so the yardstick is `openssl verify -purpose sslclient`: no case it rejects may become a peer.
 */

import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import Koa, { type Middleware } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerCertificate } from '../../../src/identity/peer-certificate.js';
import { close, listen } from '../../helpers/listen.js';
import { type LimboCase, loadLimbo, opensslVerdicts, trustOptionsOf, validationTime } from './limbo-cases.js';

const cases = loadLimbo();
let server: http.Server;
let port: number;
const refusedAtStartup = new Set<string>();

function middlewareFor(testcase: LimboCase): Middleware | undefined {
  try {
    return peerCertificate({
      sources: ['client-cert'],
      trustedProxies: { addresses: ['127.0.0.1'] },
      verify: trustOptionsOf(testcase),
      maxHeaderBytes: 1_048_576,
      now: () => validationTime(testcase),
    });
  } catch {
    // A trust the engine refuses at startup (e.g. no CA among the roots) accepts nobody.
    refusedAtStartup.add(testcase.id);
    return undefined;
  }
}

const sfBinary = (pem: string) => `:${new X509Certificate(pem).raw.toString('base64')}:`;

beforeAll(async () => {
  const byId = new Map(cases.map((testcase) => [testcase.id, middlewareFor(testcase)]));
  const app = new Koa();
  app.use(async (ctx, next) => {
    const middleware = byId.get(ctx.get('x-limbo-case'));
    if (middleware === undefined) {
      ctx.body = 'refused';
      return;
    }
    await middleware(ctx, next);
  });
  app.use((ctx) => {
    ctx.body = ctx.state.peer === undefined ? 'refused' : 'accepted';
  });
  server = http.createServer({ maxHeaderSize: 1_048_576 }, app.callback());
  port = await listen(server);
});

afterAll(async () => {
  await close(server);
});

async function forwardedVerdict(testcase: LimboCase): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    headers: { 'x-limbo-case': testcase.id, 'client-cert': sfBinary(testcase.peer_certificate) },
  });
  return (await response.text()) === 'accepted';
}

describe('x509-limbo through peerCertificate with a forwarded Client-Cert', () => {
  it('makes a peer of no case that openssl verify -purpose sslclient rejects', async () => {
    const openssl = opensslVerdicts('sslclient');
    const accepted: string[] = [];
    for (const testcase of cases) {
      if ((await forwardedVerdict(testcase)) && openssl[testcase.id]?.accepted !== true) accepted.push(testcase.id);
    }
    expect(accepted).toEqual([]);
  });

  it('accepts the well-formed client cases OpenSSL accepts (the path is not simply closed)', async () => {
    const openssl = opensslVerdicts('sslclient');
    const both: string[] = [];
    for (const testcase of cases) {
      if (openssl[testcase.id]?.accepted === true && (await forwardedVerdict(testcase))) both.push(testcase.id);
    }
    expect(both.length).toBeGreaterThan(0);
    expect(refusedAtStartup.size).toBeLessThan(cases.length);
  });
});
