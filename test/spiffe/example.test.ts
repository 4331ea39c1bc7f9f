/**
 * The Done-when of the Workload API work, end to end: a Koa server started from the (fake) Workload API serves
 * mutual TLS with no key on disk, keeps serving live clients across an SVID rotation, and authorizes callers per
 * route by SPIFFE ID.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serveFromWorkloadApi } from '../../examples/spiffe-workload-api.js';
import type { AuditEvent } from '../../src/audit/event.js';
import type { CertificateAuthority, IssuedCertificate } from '../../src/pki/index.js';
import { close, listen } from '../helpers/listen.js';
import { waitFor } from '../helpers/wait-for.js';
import { type FakeWorkloadApi, startFakeWorkloadApi } from './fake-workload-api.js';
import { Agent, clientSvid, get, serverSvid, trustDomain, x509SvidMessage } from './spiffe-pki.js';

let example: CertificateAuthority;
let payments: IssuedCertificate;
let reporting: IssuedCertificate;

beforeAll(async () => {
  example = await trustDomain('example.org');
  payments = await clientSvid(example, 'spiffe://example.org/ns/prod/sa/payments');
  reporting = await clientSvid(example, 'spiffe://example.org/ns/prod/sa/reporting');
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(): Promise<{
  agent: FakeWorkloadApi;
  port: number;
  rotated: () => number;
  audit: AuditEvent[];
}> {
  const agent = await startFakeWorkloadApi();
  cleanups.push(() => agent.dispose());
  agent.setX509Svid(x509SvidMessage(await serverSvid(example), example.root));
  let rotations = 0;
  const audit: AuditEvent[] = [];
  const { server } = await serveFromWorkloadApi(
    {
      address: agent.address,
      retryInitialMs: 20,
      retryMaxMs: 100,
      onRotated: () => {
        rotations += 1;
      },
    },
    (event) => audit.push(event),
  );
  const port = await listen(server);
  cleanups.push(() => close(server));
  return { agent, port, rotated: () => rotations, audit };
}

describe('examples/spiffe-workload-api.ts against the fake Workload API', () => {
  it('authorizes per route by SPIFFE ID', async () => {
    const { port, audit } = await start();
    expect(await get(port, example.root, payments, undefined, '/api/orders')).toMatchObject({
      status: 200,
      body: JSON.stringify({ orders: [{ id: 1, total: 42 }] }),
    });
    expect(await get(port, example.root, reporting, undefined, '/api/orders')).toMatchObject({
      status: 403,
      body: 'Forbidden',
    });
    expect(audit).toContainEqual(
      expect.objectContaining({
        kind: 'authz',
        outcome: 'deny',
        peer: expect.objectContaining({ 'koa_mtls.spiffe_id': 'spiffe://example.org/ns/prod/sa/reporting' }),
      }),
    );
    expect(await get(port, example.root, reporting, undefined, '/api/reports')).toMatchObject({
      status: 200,
      body: JSON.stringify({ reports: [], caller: 'spiffe://example.org/ns/prod/sa/reporting' }),
    });
  });

  it('keeps a live keep-alive client working across SVID rotations', async () => {
    const { agent, port, rotated } = await start();
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => keepAlive.destroy());
    expect(await get(port, example.root, payments, keepAlive, '/api/orders')).toMatchObject({ status: 200 });
    for (let round = 1; round <= 3; round += 1) {
      agent.setX509Svid(x509SvidMessage(await serverSvid(example), example.root));
      await waitFor(() => rotated() === round);
      // The connection opened before the rotations carries on: no client restart, no reconnect
      expect(await get(port, example.root, payments, keepAlive, '/api/orders')).toMatchObject({
        status: 200,
        reused: true,
      });
    }
  });
});
