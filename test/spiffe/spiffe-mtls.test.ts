import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { configureAudit } from '../../src/audit/hook.js';
import { KoaMtlsError } from '../../src/errors.js';
import type { CertificateAuthority, IssuedCertificate } from '../../src/pki/index.js';
import { type SpiffeMtls, spiffeMtls } from '../../src/spiffe/index.js';
import { close, listen } from '../helpers/listen.js';
import { waitFor } from '../helpers/wait-for.js';
import { derOf, type FakeWorkloadApi, keyDerOf, startFakeWorkloadApi, svidEntry } from './fake-workload-api.js';
import {
  Agent,
  app,
  clientSvid,
  createServer,
  get,
  type HttpsServer,
  recordingTrust,
  SERVER_ID,
  serverSvid,
  trustDomain,
  x509SvidMessage,
} from './spiffe-pki.js';

const FAST = { retryInitialMs: 20, retryMaxMs: 100, firstUpdateTimeoutMs: 10_000 } as const;

let example: CertificateAuthority;
let partner: CertificateAuthority;
let serverCert: IssuedCertificate;
let exampleClient: IssuedCertificate;
let partnerClient: IssuedCertificate;

// Every refusal must reach the hook here: identical operational events are otherwise rate-limited per window
let restoreAudit: () => void;
beforeAll(() => {
  restoreAudit = configureAudit({ repeatWindowMs: 0 });
});
afterAll(() => restoreAudit());

beforeAll(async () => {
  example = await trustDomain('example.org');
  partner = await trustDomain('partner.org');
  serverCert = await serverSvid(example);
  exampleClient = await clientSvid(example, 'spiffe://example.org/ns/prod/sa/web');
  partnerClient = await clientSvid(partner, 'spiffe://partner.org/ns/prod/sa/billing');
});

/** One fake agent, one spiffeMtls source and one https server per test, all torn down after it. */
interface Rig {
  readonly agent: FakeWorkloadApi;
  readonly spiffe: SpiffeMtls;
  readonly server: HttpsServer;
  readonly port: number;
  readonly audit: AuditEvent[];
  readonly errors: Error[];
  readonly trustUpdates: Record<string, readonly string[]>[];
  readonly handled: () => number;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startAgent(message: Record<string, unknown> | undefined): Promise<FakeWorkloadApi> {
  const agent = await startFakeWorkloadApi();
  cleanups.push(() => agent.dispose());
  agent.setX509Svid(message);
  return agent;
}

async function rig(message: Record<string, unknown> = x509SvidMessage(serverCert, example.root)): Promise<Rig> {
  const agent = await startAgent(message);
  const audit: AuditEvent[] = [];
  const errors: Error[] = [];
  const trustUpdates: Record<string, readonly string[]>[] = [];
  const spiffe = await spiffeMtls({
    address: agent.address,
    ...FAST,
    trust: recordingTrust((trustDomains) => trustUpdates.push({ ...trustDomains })),
    onAudit: (event) => audit.push(event),
    onError: (error) => errors.push(error),
  });
  cleanups.push(() => spiffe.close());
  const { callback, handled } = app();
  const server = createServer(spiffe.options, callback);
  spiffe.watch(server);
  const port = await listen(server);
  cleanups.push(() => close(server));
  return { agent, spiffe, server, port, audit, errors, trustUpdates, handled };
}

describe('spiffeMtls: first fetch', () => {
  it('serves mutual TLS with the SVID and key streamed by the Workload API', async () => {
    const { spiffe, port, trustUpdates } = await rig();
    expect(spiffe.status()).toMatchObject({ spiffeId: SERVER_ID, trustDomains: ['example.org'] });
    expect(spiffe.status().fingerprint256).toBe(serverCert.fingerprint256.replaceAll(':', '').toLowerCase());
    expect(spiffe.options).toMatchObject({ requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
    const outcome = await get(port, example.root, exampleClient);
    expect(outcome).toMatchObject({ status: 200, body: 'ok' });
    expect(trustUpdates).toEqual([{ 'example.org': [expect.stringContaining('BEGIN CERTIFICATE')] }]);
  });

  it('refuses a client of a trust domain the agent did not send, before any handler runs', async () => {
    const { port, handled } = await rig();
    const outcome = await get(port, example.root, partnerClient);
    expect(outcome.status).toBe(0);
    expect(handled()).toBe(0);
  });

  it('waits through PermissionDenied (no identity yet) and starts on the first SVID', async () => {
    const agent = await startAgent(undefined);
    const pending = spiffeMtls({ address: agent.address, ...FAST, onError: () => undefined });
    await waitFor(() => agent.calls.opened >= 3);
    agent.setX509Svid(x509SvidMessage(serverCert, example.root));
    const spiffe = await pending;
    cleanups.push(() => spiffe.close());
    expect(spiffe.status().spiffeId).toBe(SERVER_ID);
  });

  it('fails at once with ERR_SPIFFE_WORKLOAD_API when the agent answers InvalidArgument (never retried)', async () => {
    const agent = await startAgent(x509SvidMessage(serverCert, example.root));
    agent.answerWith(grpcStatus.INVALID_ARGUMENT);
    const errors: Error[] = [];
    const failure = await spiffeMtls({ address: agent.address, ...FAST, onError: (error) => errors.push(error) }).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({
      code: 'ERR_SPIFFE_WORKLOAD_API',
      message: expect.stringMatching(/INVALID_ARGUMENT/),
    });
    expect(agent.calls.opened).toBe(1);
    expect(errors).toEqual([]);
  });

  it('gives up with ERR_SPIFFE_TIMEOUT when no valid SVID arrives in time, naming the last problem', async () => {
    const agent = await startAgent({ svids: [], crl: [], federated_bundles: {} });
    const failure = await spiffeMtls({
      address: agent.address,
      ...FAST,
      firstUpdateTimeoutMs: 300,
      onError: () => undefined,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KoaMtlsError);
    expect(failure).toMatchObject({ code: 'ERR_SPIFFE_TIMEOUT' });
    expect((failure as Error).message).toMatch(/no SVID/);
    await waitFor(() => agent.openStreams() === 0);
  });
});

describe('spiffeMtls: rotation with live clients', () => {
  it('rotates the SVID in place: a keep-alive client keeps working, new connections see the new certificate', async () => {
    const { agent, port, spiffe, audit } = await rig();
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => keepAlive.destroy());
    const before = await get(port, example.root, exampleClient, keepAlive);
    expect(before.status).toBe(200);

    const next = await serverSvid(example);
    agent.setX509Svid(x509SvidMessage(next, example.root));
    const nextFingerprint = next.fingerprint256.replaceAll(':', '').toLowerCase();
    await waitFor(() => spiffe.status().fingerprint256 === nextFingerprint);

    expect(await get(port, example.root, exampleClient, keepAlive)).toMatchObject({ status: 200, reused: true });
    expect(await get(port, example.root, exampleClient)).toMatchObject({
      status: 200,
      serverFingerprint256: nextFingerprint,
    });
    expect(audit).toContainEqual(
      expect.objectContaining({
        kind: 'tls',
        outcome: 'allow',
        reason: 'TLS_CERTIFICATES_ROTATED',
        detail: expect.objectContaining({ fingerprint256: nextFingerprint, trustChanged: false }),
      }),
    );
  });

  it('rotates the bundle: a client of the new root is served once the agent sends it, without a restart', async () => {
    const { agent, port, spiffe, trustUpdates } = await rig();
    const nextRoot = await trustDomain('example.org');
    const nextClient = await clientSvid(nextRoot, 'spiffe://example.org/ns/prod/sa/web');
    expect((await get(port, example.root, nextClient)).status).toBe(0);

    // SPIRE's CA rotation: the new root is added to the bundle first, then the old one is dropped
    agent.setX509Svid(x509SvidMessage(serverCert, `${example.root}${nextRoot.root}`));
    await waitFor(() => trustUpdates.length === 2);
    expect(await get(port, example.root, nextClient)).toMatchObject({ status: 200 });
    expect(await get(port, example.root, exampleClient)).toMatchObject({ status: 200 });

    const serverOnNewRoot = await serverSvid(nextRoot);
    agent.setX509Svid(x509SvidMessage(serverOnNewRoot, nextRoot.root));
    await waitFor(() => trustUpdates.length === 3);
    expect(spiffe.status().trustDomains).toEqual(['example.org']);
    expect(await get(port, nextRoot.root, nextClient)).toMatchObject({ status: 200 });
    expect((await get(port, nextRoot.root, exampleClient)).status).toBe(0);
  });

  it('adds and removes a federated bundle: the partner is served only while its bundle is sent', async () => {
    const { agent, port, trustUpdates, handled } = await rig();
    agent.setX509Svid(x509SvidMessage(serverCert, example.root, { 'spiffe://partner.org': partner.root }));
    await waitFor(() => trustUpdates.length === 2);
    expect(Object.keys(trustUpdates[1] ?? {}).sort()).toEqual(['example.org', 'partner.org']);
    expect(trustUpdates[1]?.['partner.org']).toEqual([partner.root.trim()]);
    expect(await get(port, example.root, partnerClient)).toMatchObject({ status: 200 });

    // Workload API §4.4: a bundle missing from an update is unloaded
    agent.setX509Svid(x509SvidMessage(serverCert, example.root));
    await waitFor(() => trustUpdates.length === 3);
    expect(Object.keys(trustUpdates[2] ?? {})).toEqual(['example.org']);
    const servedBefore = handled();
    expect((await get(port, example.root, partnerClient)).status).toBe(0);
    expect(handled()).toBe(servedBefore);
  });
});

describe('spiffeMtls: the agent restarting', () => {
  it('keeps serving the last SVID while the agent is down, reconnects, and applies what the new agent sends', async () => {
    const { agent, port, spiffe, audit } = await rig();
    agent.stop();
    await waitFor(() => audit.some((event) => event.reason === 'SPIFFE_WORKLOAD_API_UNAVAILABLE'));
    expect(spiffe.status().lastError).toMatchObject({ code: 'ERR_SPIFFE_WORKLOAD_API' });
    expect(await get(port, example.root, exampleClient)).toMatchObject({ status: 200 });

    const next = await serverSvid(example);
    agent.setX509Svid(x509SvidMessage(next, example.root));
    await agent.restart();
    const nextFingerprint = next.fingerprint256.replaceAll(':', '').toLowerCase();
    await waitFor(() => spiffe.status().fingerprint256 === nextFingerprint);
    expect(spiffe.status().lastError).toBeUndefined();
    expect(await get(port, example.root, exampleClient)).toMatchObject({ status: 200 });
  });

  it('keeps serving the last SVID when the agent withdraws the identity (PermissionDenied), and reports it', async () => {
    const { agent, port, spiffe, errors } = await rig();
    agent.failStreams(grpcStatus.PERMISSION_DENIED, 'no identity issued');
    await waitFor(() => errors.some((error) => /PERMISSION_DENIED/.test(error.message)));
    expect(spiffe.status().spiffeId).toBe(SERVER_ID);
    expect(await get(port, example.root, exampleClient)).toMatchObject({ status: 200 });
  });
});

describe('spiffeMtls: each bad update is kept out', () => {
  const otherKey = async () => (await serverSvid(example)).key;
  const expired = async () =>
    serverSvid(example, { notBefore: new Date(Date.now() - 7_200_000), notAfter: new Date(Date.now() - 3_600_000) });
  const entry = () => svidEntry(SERVER_ID, serverCert, example.root);

  const cases: readonly {
    readonly name: string;
    readonly code: string;
    readonly message: () => Promise<Record<string, unknown>>;
  }[] = [
    {
      name: 'an empty SVID list',
      code: 'ERR_SPIFFE_BAD_UPDATE',
      message: async () => ({ svids: [], crl: [], federated_bundles: {} }),
    },
    {
      name: 'a key that is not the SVID’s',
      code: 'ERR_MTLS_CONFIG_KEY_MISMATCH',
      message: async () => ({ svids: [{ ...entry(), x509_svid_key: keyDerOf(await otherKey()) }] }),
    },
    {
      name: 'an expired SVID',
      code: 'ERR_MTLS_CONFIG_CERT_EXPIRED',
      message: async () => x509SvidMessage(await expired(), example.root),
    },
    {
      name: 'an unparsable certificate',
      code: 'ERR_SPIFFE_BAD_UPDATE',
      message: async () => ({ svids: [{ ...entry(), x509_svid: Buffer.from('not a certificate') }] }),
    },
    {
      name: 'a truncated certificate',
      code: 'ERR_SPIFFE_BAD_UPDATE',
      message: async () => ({ svids: [{ ...entry(), x509_svid: derOf(serverCert.certificate).subarray(0, 200) }] }),
    },
    {
      name: 'an unparsable key',
      code: 'ERR_SPIFFE_BAD_UPDATE',
      message: async () => ({ svids: [{ ...entry(), x509_svid_key: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]) }] }),
    },
    {
      name: 'an SVID sent under another SPIFFE ID',
      code: 'ERR_SPIFFE_BAD_UPDATE',
      message: async () => ({ svids: [{ ...entry(), spiffe_id: 'spiffe://example.org/ns/prod/sa/admin' }] }),
    },
    {
      name: 'an empty bundle',
      code: 'ERR_SPIFFE_BAD_UPDATE',
      message: async () => ({ svids: [{ ...entry(), bundle: Buffer.alloc(0) }] }),
    },
    {
      name: 'a bundle that is not a CA',
      code: 'ERR_MTLS_CONFIG_CA_NOT_CA',
      message: async () => ({ svids: [{ ...entry(), bundle: derOf(exampleClient.certificate) }] }),
    },
    {
      name: 'a federated bundle for the local trust domain',
      code: 'ERR_SPIFFE_BAD_UPDATE',
      message: async () => x509SvidMessage(serverCert, example.root, { 'example.org': partner.root }),
    },
    {
      name: 'a federated bundle under a malformed trust domain',
      code: 'ERR_SPIFFE_BAD_UPDATE',
      message: async () => x509SvidMessage(serverCert, example.root, { 'Partner.ORG/x': partner.root }),
    },
  ];

  it.each(cases)('$name: refused with $code, audited, and the old context keeps serving', async ({ code, message }) => {
    const { agent, port, spiffe, audit, trustUpdates } = await rig();
    const fingerprint = spiffe.status().fingerprint256;
    agent.setX509Svid(await message());
    await waitFor(() => audit.some((event) => event.reason === 'TLS_ROTATION_REFUSED'));
    expect(audit).toContainEqual({
      kind: 'tls',
      outcome: 'reject',
      reason: 'TLS_ROTATION_REFUSED',
      detail: expect.objectContaining({ code }),
    });
    expect(spiffe.status()).toMatchObject({
      fingerprint256: fingerprint,
      lastError: expect.objectContaining({ code }),
    });
    expect(trustUpdates).toHaveLength(1);
    expect(await get(port, example.root, exampleClient)).toMatchObject({ status: 200, body: 'ok' });

    // The stream goes on: the next good update is applied
    const next = await serverSvid(example);
    agent.setX509Svid(x509SvidMessage(next, example.root));
    await waitFor(() => spiffe.status().fingerprint256 === next.fingerprint256.replaceAll(':', '').toLowerCase());
    expect(spiffe.status().lastError).toBeUndefined();
  });
});

describe('spiffeMtls: the trust object', () => {
  it('an update the trust object refuses is kept out of the servers too', async () => {
    const agent = await startAgent(x509SvidMessage(serverCert, example.root));
    const audit: AuditEvent[] = [];
    let accepted = 0;
    const spiffe = await spiffeMtls({
      address: agent.address,
      ...FAST,
      trust: recordingTrust((trustDomains) => {
        if ('partner.org' in trustDomains) throw new TypeError('partner.org is not allowed here');
        accepted += 1;
      }),
      onAudit: (event) => audit.push(event),
      onError: () => undefined,
    });
    cleanups.push(() => spiffe.close());
    const { callback } = app();
    const server = createServer(spiffe.options, callback);
    spiffe.watch(server);
    const port = await listen(server);
    cleanups.push(() => close(server));

    agent.setX509Svid(x509SvidMessage(serverCert, example.root, { 'partner.org': partner.root }));
    await waitFor(() => audit.some((event) => event.reason === 'TLS_ROTATION_REFUSED'));
    expect(audit).toContainEqual(
      expect.objectContaining({
        outcome: 'reject',
        detail: expect.objectContaining({ code: 'ERR_SPIFFE_BAD_UPDATE' }),
      }),
    );
    expect(accepted).toBe(1);
    expect(spiffe.status().trustDomains).toEqual(['example.org']);
    expect((await get(port, example.root, partnerClient)).status).toBe(0);
  });
});

describe('spiffeMtls: options and lifecycle', () => {
  it('serves the SVID with the requested hint', async () => {
    const internal = await serverSvid(example);
    const agent = await startAgent({
      svids: [
        svidEntry(SERVER_ID, serverCert, example.root, 'external'),
        svidEntry(SERVER_ID, internal, example.root, 'internal'),
      ],
    });
    const spiffe = await spiffeMtls({ address: agent.address, ...FAST, hint: 'internal' });
    cleanups.push(() => spiffe.close());
    expect(spiffe.status().fingerprint256).toBe(internal.fingerprint256.replaceAll(':', '').toLowerCase());
  });

  it('refuses bad options at startup, naming the option', async () => {
    await expect(spiffeMtls({ address: 'unix://relative.sock' })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      path: 'createWorkloadApiClient.options.address',
    });
    await expect(spiffeMtls({ tls: { profile: 'old' as never } })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
    await expect(spiffeMtls({ tls: { key: 'x' } as never })).rejects.toMatchObject({
      path: 'spiffeMtls.options.tls.key',
    });
    await expect(spiffeMtls({ trust: {} as never })).rejects.toMatchObject({ path: 'spiffeMtls.options.trust' });
    await expect(spiffeMtls({ firstUpdateTimeoutMs: 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });

  it('close() ends the stream and leaves the server with its last context', async () => {
    const { agent, spiffe, port, server } = await rig();
    await waitFor(() => agent.openStreams() === 1);
    spiffe.close();
    spiffe.close();
    await waitFor(() => agent.openStreams() === 0);
    expect(await get(port, example.root, exampleClient)).toMatchObject({ status: 200 });
    expect(() => spiffe.watch(server)).toThrow(expect.objectContaining({ code: 'ERR_SPIFFE_CLOSED' }));
  });
});
