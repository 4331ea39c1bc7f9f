import type { Middleware } from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import type { AuthzDecision } from '../../src/authz/decision.js';
import type { PeerPolicy } from '../../src/authz/policy.js';
import { type RequirePeerOptions, requirePeer } from '../../src/authz/require-peer.js';
import { KoaMtlsError } from '../../src/errors.js';
import { peerFromPem } from '../../src/identity/peer-from-pem.js';
import { createCertificateAuthority } from '../../src/pki/index.js';
import { ROUTE_METADATA, routeMetadataOf } from '../../src/routes/route-metadata.js';
import { type Harness, type HarnessOptions, serve } from './koa-harness.js';
import { makePeer } from './peer-fixture.js';

const peers = {
  web: makePeer({
    seed: 'web',
    spiffeId: 'spiffe://example.org/ns/prod/sa/web',
    san: { uri: ['spiffe://example.org/ns/prod/sa/web'] },
  }),
  batch: makePeer({ seed: 'batch', spiffeId: 'spiffe://example.org/ns/prod/sa/batch' }),
  claimed: makePeer({
    seed: 'claimed',
    spiffeId: 'spiffe://example.org/ns/prod/sa/web',
    verifiedBy: 'proxy-claimed',
    source: 'xfcc',
  }),
  expired: makePeer({
    seed: 'expired',
    spiffeId: 'spiffe://example.org/ns/prod/sa/web',
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2021-01-01T00:00:00Z'),
  }),
  future: makePeer({
    seed: 'future',
    spiffeId: 'spiffe://example.org/ns/prod/sa/web',
    notBefore: new Date(Date.now() + 3_600_000),
  }),
};
const policy: PeerPolicy = { spiffe: 'spiffe://example.org/ns/prod/sa/web' };

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: RequirePeerOptions = {}, extra: HarnessOptions = {}, rules: PeerPolicy = policy) {
  harness = await serve(requirePeer(rules, options), peers, extra);
  return harness;
}

function recorder() {
  const decisions: AuthzDecision[] = [];
  const audits: AuditEvent[] = [];
  return {
    decisions,
    audits,
    options: { onDecision: (d: AuthzDecision) => decisions.push(d), onAudit: (e: AuditEvent) => audits.push(e) },
  };
}

function errorCodes(h: Harness): unknown[] {
  return h.errors.map((error) => (error as KoaMtlsError).code);
}

describe('requirePeer over a real Koa app', () => {
  describe('when there is no peer', () => {
    it('answers 401 ERR_MTLS_PEER_REQUIRED with a generic body and never runs the handler', async () => {
      const h = await start();
      expect(await h.request('/')).toEqual({ status: 401, body: 'Client certificate required' });
      expect(h.handlerRuns()).toBe(0);
      expect(errorCodes(h)).toEqual(['ERR_MTLS_PEER_REQUIRED']);
    });
  });

  describe('when ctx.state.peer is not a PeerIdentity', () => {
    it.each([
      { name: 'an empty object', value: {} },
      { name: 'a string', value: 'CN=admin' },
      {
        name: 'a legacy certificate object',
        value: { subject: { CN: 'admin' }, fingerprint256: 'AB:CD', valid_to: 'x' },
      },
      { name: 'an unknown verifiedBy', value: { ...peers.web, verifiedBy: 'none' } },
    ])('answers 401 for $name', async ({ value }) => {
      harness = await serve(requirePeer({ anyPeer: true }), { odd: value as never });
      expect(await harness.request('/', 'odd')).toEqual({ status: 401, body: 'Client certificate required' });
      expect(harness.handlerRuns()).toBe(0);
    });
  });

  describe('when the policy denies', () => {
    it('answers 403 ERR_MTLS_PEER_FORBIDDEN with a generic body and never runs the handler', async () => {
      const h = await start();
      const response = await h.request('/', 'batch');
      expect(response).toEqual({ status: 403, body: 'Forbidden' });
      expect(response.body).not.toContain('spiffe');
      expect(h.handlerRuns()).toBe(0);
      expect(errorCodes(h)).toEqual(['ERR_MTLS_PEER_FORBIDDEN']);
    });
  });

  describe('when the policy allows', () => {
    it('runs the handler once', async () => {
      const h = await start();
      expect(await h.request('/', 'web')).toEqual({ status: 200, body: 'handled' });
      expect(h.handlerRuns()).toBe(1);
      expect(h.errors).toEqual([]);
    });

    it('lets a downstream error through untouched (await next() is outside the decision)', async () => {
      const h = await start({}, { handler: (ctx) => ctx.throw(418, 'teapot') });
      expect(await h.request('/', 'web')).toEqual({ status: 418, body: 'teapot' });
    });
  });

  describe('when a user error middleware renders errors', () => {
    it('sees the KoaMtlsError with its code and status', async () => {
      const before: Middleware = async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          if (!(error instanceof KoaMtlsError)) throw error;
          ctx.status = error.status;
          ctx.body = { code: error.code };
        }
      };
      const h = await start({}, { before });
      expect(await h.request('/', 'batch')).toEqual({ status: 403, body: '{"code":"ERR_MTLS_PEER_FORBIDDEN"}' });
      expect(await h.request('/')).toEqual({ status: 401, body: '{"code":"ERR_MTLS_PEER_REQUIRED"}' });
      expect(h.handlerRuns()).toBe(0);
    });
  });

  describe('when the identity is only claimed by a proxy', () => {
    it('answers 401 unless allowProxyClaimed', async () => {
      const { decisions, options } = recorder();
      const h = await start(options);
      expect(await h.request('/', 'claimed')).toEqual({ status: 401, body: 'Client certificate required' });
      expect(h.handlerRuns()).toBe(0);
      expect(decisions[0]?.reason).toBe('PEER_PROXY_CLAIMED');
    });

    it('allows it with allowProxyClaimed: true', async () => {
      const h = await start({ allowProxyClaimed: true });
      expect(await h.request('/', 'claimed')).toEqual({ status: 200, body: 'handled' });
    });
  });

  describe('when the certificate is outside its validity period now', () => {
    it.each([
      { peer: 'expired', reason: 'PEER_EXPIRED' },
      { peer: 'future', reason: 'PEER_NOT_YET_VALID' },
    ])('answers 401 for $peer with reason $reason', async ({ peer, reason }) => {
      const { decisions, options } = recorder();
      const h = await start(options);
      expect(await h.request('/', peer)).toEqual({ status: 401, body: 'Client certificate required' });
      expect(h.handlerRuns()).toBe(0);
      expect(decisions[0]?.reason).toBe(reason);
    });
  });

  describe('when a policy check throws', () => {
    it('answers 500, reports POLICY_CHECK_FAILED and keeps the cause', async () => {
      const { decisions, options } = recorder();
      const boom = new Error('database down');
      const rules: PeerPolicy = {
        spiffe: 'spiffe://example.org/ns/prod/sa/web',
        check: () => {
          throw boom;
        },
      };
      const h = await start(options, {}, rules);
      expect(await h.request('/', 'web')).toEqual({ status: 500, body: 'Internal Server Error' });
      expect(h.handlerRuns()).toBe(0);
      const error = h.errors[0] as KoaMtlsError;
      expect(error.code).toBe('ERR_MTLS_POLICY_CHECK_FAILED');
      expect(error.cause).toBe(boom);
      expect(decisions.map((d) => [d.reason, d.allowed])).toEqual([['POLICY_CHECK_FAILED', false]]);
    });

    it('answers 500 for an async rejection too, never an allow', async () => {
      const h = await start({}, {}, { ...policy, check: async () => Promise.reject(new Error('x')) });
      expect((await h.request('/', 'web')).status).toBe(500);
      expect(h.handlerRuns()).toBe(0);
    });
  });

  describe('when a decision hook throws', () => {
    it('fails the request (500) instead of allowing it', async () => {
      const h = await start({
        onDecision: () => {
          throw new Error('logger broken');
        },
      });
      expect((await h.request('/', 'web')).status).toBe(500);
      expect(h.handlerRuns()).toBe(0);
    });
  });
});

describe('when two routes with different policies decide one identity in turn', () => {
  it("gives each route its own verdict, every time (a verdict remembered on an identity is one route's only)", async () => {
    const ca = await createCertificateAuthority();
    const client = await ca.issueClient({ subject: 'CN=web', san: { uri: ['spiffe://example.org/ns/prod/sa/web'] } });
    // Built by the package (what peerCertificate() puts on ctx.state.peer), so the verdict is remembered on it.
    const built = peerFromPem(client.certificate);
    const webOnly = requirePeer(policy);
    const batchOnly = requirePeer({ spiffe: 'spiffe://example.org/ns/prod/sa/batch' });
    const h = await serve((ctx, next) => (ctx.path === '/batch' ? batchOnly(ctx, next) : webOnly(ctx, next)), {
      built,
    });
    harness = h;
    for (let round = 0; round < 3; round++) {
      expect(await h.request('/web', 'built')).toEqual({ status: 200, body: 'handled' });
      expect(await h.request('/batch', 'built')).toEqual({ status: 403, body: 'Forbidden' });
    }
    expect(h.handlerRuns()).toBe(3);
    expect(errorCodes(h)).toEqual(Array(3).fill('ERR_MTLS_PEER_FORBIDDEN'));
  });
});

describe('decisions', () => {
  it('delivers one AuthzDecision per request to onDecision and the same object to onAudit', async () => {
    const { decisions, audits, options } = recorder();
    const h = await start(options, {}, { anyOf: [{ spiffe: 'spiffe://example.org/ns/dev/**' }, policy] });
    await h.request('/', 'web', { 'x-request-id': 'req-1' });
    await h.request('/', 'batch', { 'x-request-id': 'req-2' });
    await h.request('/');
    expect(decisions).toHaveLength(3);
    expect(audits).toEqual(decisions);
    expect(decisions[0]).toMatchObject({
      kind: 'authz',
      outcome: 'allow',
      reason: 'POLICY_MATCH',
      allowed: true,
      enforced: true,
      mode: 'enforce',
      requestId: 'req-1',
      rule: 'policy.anyOf[1].spiffe',
      status: undefined,
      peer: {
        'koa_mtls.spiffe_id': 'spiffe://example.org/ns/prod/sa/web',
        'tls.client.subject': 'CN=client,O=Acme',
        'koa_mtls.verified_by': 'tls-handshake',
      },
    });
    expect(decisions[0]?.detail.policy).toBe(
      'anyOf(spiffe in [spiffe://example.org/ns/dev/**] | spiffe in [spiffe://example.org/ns/prod/sa/web])',
    );
    expect(decisions[1]).toMatchObject({
      outcome: 'deny',
      reason: 'POLICY_NO_MATCH',
      rule: 'policy.anyOf',
      status: 403,
    });
    expect(decisions[2]).toMatchObject({ outcome: 'deny', reason: 'PEER_MISSING', status: 401 });
    expect(decisions[2]).not.toHaveProperty('peer');
    expect(Object.isFrozen(decisions[0])).toBe(true);
  });

  it('names the first failing condition of a conjunction', async () => {
    const { decisions, options } = recorder();
    const h = await start(options, {}, { trustDomain: 'example.org', san: { dns: 'svc.example.org' } });
    await h.request('/', 'web');
    expect(decisions[0]).toMatchObject({ allowed: false, rule: 'policy.san.dns' });
  });
});

describe("mode: 'report' (dry run)", () => {
  it('runs the handler for a would-be denial and reports it as a warn', async () => {
    const { decisions, options } = recorder();
    const h = await start({ ...options, mode: 'report' });
    expect(await h.request('/', 'batch')).toEqual({ status: 200, body: 'handled' });
    expect(await h.request('/')).toEqual({ status: 200, body: 'handled' });
    expect(h.handlerRuns()).toBe(2);
    expect(decisions.map((d) => [d.outcome, d.reason, d.allowed, d.enforced, d.status])).toEqual([
      ['warn', 'POLICY_NO_MATCH', false, false, 403],
      ['warn', 'PEER_MISSING', false, false, 401],
    ]);
  });

  it('still fails on a throwing check, and reports it as enforced', async () => {
    const { decisions, options } = recorder();
    const h = await start(
      { ...options, mode: 'report' },
      {},
      { ...policy, check: () => Promise.reject(new Error('x')) },
    );
    expect((await h.request('/', 'web')).status).toBe(500);
    expect(h.handlerRuns()).toBe(0);
    expect(decisions[0]).toMatchObject({ outcome: 'deny', enforced: true, reason: 'POLICY_CHECK_FAILED', status: 500 });
  });
});

describe('route metadata', () => {
  it('attaches a non-enumerable description for describeRoutes', () => {
    const guard = requirePeer({ san: { dns: ['API.example.com', '*.svc.example.com'] } }, { mode: 'report' });
    expect(routeMetadataOf(guard)).toEqual({
      kind: 'requirePeer',
      description: 'san.dns in [api.example.com, *.svc.example.com]',
      mode: 'report',
      allowProxyClaimed: false,
      revocation: false,
    });
    expect(Object.keys(guard)).toEqual([]);
    expect(Object.getOwnPropertyDescriptor(guard, ROUTE_METADATA)?.enumerable).toBe(false);
    expect(guard.name).toBe('requirePeerMiddleware');
    expect(routeMetadataOf(() => undefined)).toBeUndefined();
  });
});
