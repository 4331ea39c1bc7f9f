/**
 * SPIFFE federation through the Workload API (Workload API §4.6): the server trusts every bundle the agent sends at
 * the TLS layer, but a SPIFFE ID is believed only when the peer's path ends at the bundle of that ID's own trust
 * domain. A federated partner's CA that issues `spiffe://example.org/…` is a forgery, never that identity.
 */
import Koa from 'koa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { peerCertificate, requirePeer } from '../../src/index.js';
import type { CertificateAuthority, IssuedCertificate } from '../../src/pki/index.js';
import { spiffeMtls } from '../../src/spiffe/index.js';
import { close, listen } from '../helpers/listen.js';
import { waitFor } from '../helpers/wait-for.js';
import { startFakeWorkloadApi } from './fake-workload-api.js';
import { clientSvid, createServer, get, serverSvid, trustDomain, x509SvidMessage } from './spiffe-pki.js';

let example: CertificateAuthority;
let partner: CertificateAuthority;
let payments: IssuedCertificate;
let forgedPayments: IssuedCertificate;
let billing: IssuedCertificate;

beforeAll(async () => {
  example = await trustDomain('example.org');
  partner = await trustDomain('partner.org');
  payments = await clientSvid(example, 'spiffe://example.org/ns/prod/sa/payments');
  forgedPayments = await clientSvid(partner, 'spiffe://example.org/ns/prod/sa/payments');
  billing = await clientSvid(partner, 'spiffe://partner.org/ns/prod/sa/billing');
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('federated SPIFFE IDs are authorized only against their own trust domain’s bundle', () => {
  it('serves example.org and partner.org identities, and never a partner-issued example.org ID', async () => {
    const agent = await startFakeWorkloadApi();
    cleanups.push(() => agent.dispose());
    const server0 = await serverSvid(example);
    agent.setX509Svid(x509SvidMessage(server0, example.root, { 'spiffe://partner.org': partner.root }));
    const spiffe = await spiffeMtls({ address: agent.address, retryInitialMs: 20, retryMaxMs: 100 });
    cleanups.push(() => spiffe.close());

    const app = new Koa();
    const handled: string[] = [];
    app.use(peerCertificate({ trust: spiffe.trust }));
    app.use(
      requirePeer({ anyOf: [{ spiffe: 'spiffe://example.org/ns/prod/sa/payments' }, { trustDomain: 'partner.org' }] }),
    );
    app.use((ctx) => {
      handled.push(ctx.state.peer?.spiffeId ?? 'none');
      ctx.body = ctx.state.peer?.spiffeId;
    });
    const server = createServer(spiffe.options, app.callback());
    spiffe.watch(server);
    const port = await listen(server);
    cleanups.push(() => close(server));

    expect(spiffe.trust.trustDomainNames).toEqual(['example.org', 'partner.org']);
    expect(await get(port, example.root, payments)).toMatchObject({
      status: 200,
      body: 'spiffe://example.org/ns/prod/sa/payments',
    });
    expect(await get(port, example.root, billing)).toMatchObject({
      status: 200,
      body: 'spiffe://partner.org/ns/prod/sa/billing',
    });
    // The TLS handshake succeeds (partner.org's root is an anchor), but the ID is not partner.org's to vouch for
    const forged = await get(port, example.root, forgedPayments);
    expect(forged.status).toBe(403);
    expect(handled).toEqual(['spiffe://example.org/ns/prod/sa/payments', 'spiffe://partner.org/ns/prod/sa/billing']);

    // The agent stops federating: partner.org leaves the trust and the TLS layer
    agent.setX509Svid(x509SvidMessage(server0, example.root));
    await waitFor(() => spiffe.trust.trustDomainNames.length === 1);
    expect((await get(port, example.root, billing)).status).toBe(0);
    expect(await get(port, example.root, payments)).toMatchObject({ status: 200 });
    expect(handled).toHaveLength(3);
  });
});
