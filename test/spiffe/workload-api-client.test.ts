import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { KoaMtlsError } from '../../src/errors.js';
import { workloadApiTarget } from '../../src/spiffe/address.js';
import { createWorkloadApiClient, type WorkloadApiClient } from '../../src/spiffe/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { derOf, type FakeWorkloadApi, startFakeWorkloadApi } from './fake-workload-api.js';
import { serverSvid, trustDomain, x509SvidMessage } from './spiffe-pki.js';

const FAST = { retryInitialMs: 20, retryMaxMs: 100 } as const;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

async function agent(): Promise<FakeWorkloadApi> {
  const fake = await startFakeWorkloadApi();
  cleanups.push(() => fake.dispose());
  return fake;
}

function client(address: string): WorkloadApiClient {
  const created = createWorkloadApiClient({ address, ...FAST });
  cleanups.push(() => created.close());
  return created;
}

/** Records what one watch saw. */
function recorder() {
  const updates: Readonly<Record<string, unknown>>[] = [];
  const errors: { error: KoaMtlsError; retrying: boolean }[] = [];
  return {
    updates,
    errors,
    watcher: {
      onUpdate: (message: Readonly<Record<string, unknown>>) => updates.push(message),
      onError: (error: KoaMtlsError, retrying: boolean) => errors.push({ error, retrying }),
    },
  };
}

describe('Workload API address (SPIFFE Workload Endpoint §4)', () => {
  it.each([
    ['unix:///run/spire/agent.sock', 'unix:///run/spire/agent.sock'],
    ['unix:///run/spire%20x/agent.sock', 'unix:///run/spire x/agent.sock'],
    ['tcp://127.0.0.1:8081', 'ipv4:127.0.0.1:8081'],
    ['tcp://[::1]:8081', 'ipv6:[::1]:8081'],
  ])('accepts %s as the gRPC target %s', (address, target) => {
    expect(workloadApiTarget(address, 'address')).toBe(target);
  });

  it.each([
    ['a relative path', 'unix://run/agent.sock'],
    ['a path without "//"', 'unix:/run/agent.sock'],
    ['no path', 'unix://'],
    ['a query', 'unix:///run/agent.sock?x=1'],
    ['a fragment', 'unix:///run/agent.sock#x'],
    ['user info', 'tcp://user@127.0.0.1:8081'],
    ['a DNS name', 'tcp://localhost:8081'],
    ['no port', 'tcp://127.0.0.1'],
    ['a path after tcp', 'tcp://127.0.0.1:8081/foo'],
    ['another scheme', 'http://127.0.0.1:8081'],
    ['a bare path', '/run/spire/agent.sock'],
  ])('refuses %s (%s)', (_name, address) => {
    expect(() => workloadApiTarget(address, 'address')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', path: 'address' }),
    );
  });

  it('falls back to SPIFFE_ENDPOINT_SOCKET, and requires one of the two', () => {
    const saved = process.env.SPIFFE_ENDPOINT_SOCKET;
    try {
      process.env.SPIFFE_ENDPOINT_SOCKET = 'unix:///run/spire/from-env.sock';
      expect(client(undefined as never).target).toBe('unix:///run/spire/from-env.sock');
      process.env.SPIFFE_ENDPOINT_SOCKET = 'tcp://localhost:1';
      expect(() => createWorkloadApiClient()).toThrow(expect.objectContaining({ path: 'SPIFFE_ENDPOINT_SOCKET' }));
      delete process.env.SPIFFE_ENDPOINT_SOCKET;
      expect(() => createWorkloadApiClient()).toThrow(
        expect.objectContaining({ path: 'createWorkloadApiClient.options.address' }),
      );
    } finally {
      if (saved === undefined) delete process.env.SPIFFE_ENDPOINT_SOCKET;
      else process.env.SPIFFE_ENDPOINT_SOCKET = saved;
    }
  });

  it('refuses unknown options and an inverted backoff', () => {
    expect(() => createWorkloadApiClient({ adress: 'unix:///x' } as never)).toThrow(/adress/);
    expect(() => createWorkloadApiClient({ address: 'unix:///x', retryInitialMs: 500, retryMaxMs: 100 })).toThrow(
      expect.objectContaining({ path: 'createWorkloadApiClient.options.retryMaxMs' }),
    );
  });
});

describe('the security header (SPIFFE Workload Endpoint §3)', () => {
  it('the agent refuses a request without workload.spiffe.io: true with InvalidArgument; ours always carries it', async () => {
    const fake = await agent();
    const raw = new Client(fake.address, credentials.createInsecure());
    cleanups.push(() => raw.close());
    const call = (metadata: Metadata) =>
      new Promise<number>((done) => {
        const stream = raw.makeServerStreamRequest(
          '/SpiffeWorkloadAPI/FetchX509SVID',
          () => Buffer.alloc(0),
          (bytes: Buffer) => bytes,
          {},
          metadata,
          {},
        );
        stream.on('data', () => undefined);
        stream.on('error', () => undefined);
        stream.on('status', ({ code }: { code: number }) => done(code));
      });
    expect(await call(new Metadata())).toBe(status.INVALID_ARGUMENT);
    const wrong = new Metadata();
    wrong.set('workload.spiffe.io', 'True');
    expect(await call(wrong)).toBe(status.INVALID_ARGUMENT);
    expect(fake.calls.refusedWithoutHeader).toBe(2);

    const seen = recorder();
    client(fake.address).watchX509Svids(seen.watcher);
    await waitFor(() => seen.errors.length > 0);
    expect(seen.errors[0]?.error.message).toMatch(/PERMISSION_DENIED/);
    expect(fake.calls.refusedWithoutHeader).toBe(2);
  });
});

describe('streams and reconnection', () => {
  it('streams FetchX509SVID and FetchX509Bundles updates as the agent sends them', async () => {
    const fake = await agent();
    const root = await trustDomain('example.org');
    const svid = await serverSvid(root);
    fake.setX509Svid(x509SvidMessage(svid, root.root));
    fake.setX509Bundles({ crl: [], bundles: { 'spiffe://example.org': derOf(root.root) } });
    const svids = recorder();
    const bundles = recorder();
    const api = client(fake.address);
    api.watchX509Svids(svids.watcher);
    api.watchX509Bundles(bundles.watcher);
    await waitFor(() => svids.updates.length === 1 && bundles.updates.length === 1);
    expect(svids.updates[0]).toMatchObject({ svids: [{ spiffe_id: 'spiffe://example.org/ns/prod/sa/api' }] });
    expect(Object.keys(bundles.updates[0]?.bundles as object)).toEqual(['spiffe://example.org']);

    const partner = await trustDomain('partner.org');
    fake.setX509Bundles({
      bundles: { 'spiffe://example.org': derOf(root.root), 'spiffe://partner.org': derOf(partner.root) },
    });
    await waitFor(() => bundles.updates.length === 2);
    expect(Object.keys(bundles.updates[1]?.bundles as object).sort()).toEqual([
      'spiffe://example.org',
      'spiffe://partner.org',
    ]);
  });

  it.each([
    ['Unavailable', status.UNAVAILABLE],
    ['PermissionDenied', status.PERMISSION_DENIED],
    ['Internal', status.INTERNAL],
  ])('retries with backoff after %s', async (_name, code) => {
    const fake = await agent();
    fake.answerWith(code);
    const seen = recorder();
    client(fake.address).watchX509Bundles(seen.watcher);
    await waitFor(() => fake.calls.opened >= 3);
    expect(seen.errors.every(({ retrying, error }) => retrying && error.code === 'ERR_SPIFFE_WORKLOAD_API')).toBe(true);

    fake.answerWith(undefined);
    fake.setX509Bundles({ bundles: { 'spiffe://example.org': Buffer.from([1]) } });
    await waitFor(() => seen.updates.length === 1);
  });

  it('never retries InvalidArgument: the watch stops after reporting it once', async () => {
    const fake = await agent();
    fake.answerWith(status.INVALID_ARGUMENT);
    const seen = recorder();
    client(fake.address).watchX509Bundles(seen.watcher);
    await waitFor(() => seen.errors.length === 1);
    expect(seen.errors[0]).toMatchObject({ retrying: false, error: { code: 'ERR_SPIFFE_WORKLOAD_API' } });
    // Bounded look for a retry: ten times the longest backoff
    await new Promise((done) => setTimeout(done, 1000));
    expect(fake.calls.opened).toBe(1);
    expect(seen.errors).toHaveLength(1);
  });

  it('reaches an agent on tcp://IP:port as well', async () => {
    const fake = await startFakeWorkloadApi('tcp');
    cleanups.push(() => fake.dispose());
    expect(fake.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    fake.setX509Bundles({ bundles: { 'spiffe://example.org': Buffer.from([1]) } });
    const seen = recorder();
    const api = client(fake.address);
    expect(api.target).toMatch(/^ipv4:127\.0\.0\.1:\d+$/);
    api.watchX509Bundles(seen.watcher);
    await waitFor(() => seen.updates.length === 1);
  });

  it('reconnects after the agent restarts and receives its state', async () => {
    const fake = await agent();
    fake.setX509Bundles({ bundles: { 'spiffe://example.org': Buffer.from([1]) } });
    const seen = recorder();
    client(fake.address).watchX509Bundles(seen.watcher);
    await waitFor(() => seen.updates.length === 1);
    fake.stop();
    await waitFor(() => seen.errors.some(({ error }) => /UNAVAILABLE/.test(error.message)));
    fake.setX509Bundles({ bundles: { 'spiffe://example.org': Buffer.from([2]) } });
    await fake.restart();
    await waitFor(() => seen.updates.length === 2);
    expect(seen.updates[1]).toEqual({ crl: [], bundles: { 'spiffe://example.org': Buffer.from([2]) } });
  });

  it('close() cancels every stream and refuses new watches', async () => {
    const fake = await agent();
    fake.setX509Bundles({ bundles: { 'spiffe://example.org': Buffer.from([1]) } });
    const api = createWorkloadApiClient({ address: fake.address, ...FAST });
    const seen = recorder();
    api.watchX509Bundles(seen.watcher);
    const stopSvids = api.watchX509Svids(recorder().watcher);
    stopSvids();
    await waitFor(() => fake.openStreams() === 1);
    api.close();
    api.close();
    await waitFor(() => fake.openStreams() === 0);
    expect(seen.errors).toEqual([]);
    expect(() => api.watchX509Bundles(recorder().watcher)).toThrow(
      expect.objectContaining({ code: 'ERR_SPIFFE_CLOSED' }),
    );
  });
});
