/**
 * The client matrix: real clients (curl, openssl s_client, Node `https`, `undici`) × client certificate cases against
 * `https.createServer(mtlsOptions(...))` (modern; and the same rows with TLS 1.2 only against intermediate), plus
 * HTTP/2 through curl against `http2.createSecureServer(mtlsOptions(...))`.
 * Every cell states its outcome; a rejected cell also checks the reason `onTlsClientRejected` recorded. The table
 * lives in ./helpers/client-matrix-table.ts and is rendered into docs/verification.md.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mtlsOptions } from '../../src/tls/mtls-options.js';
import type { MtlsProfile } from '../../src/tls/profile.js';
import { externalTools } from '../helpers/external-tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { type Expected, expectationFor, MATRIX, renderMatrixMarkdown } from './helpers/client-matrix-table.js';
import {
  type ClientOutcome,
  curlClient,
  type MatrixClient,
  nodeHttpsClient,
  opensslClient,
  undiciClient,
} from './helpers/clients.js';
import { normalizeMarkdownTables } from './helpers/markdown.js';
import { createMatrixPki, type MatrixPki } from './helpers/matrix-pki.js';
import { type RecordingServer, startRecordingServer } from './helpers/servers.js';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const hasCurl = externalTools('the client matrix with curl', ['curl']);
const hasOpenssl = externalTools('the client matrix with openssl s_client', ['openssl']);

let pki: MatrixPki;
let server: RecordingServer;
let intermediateServer: RecordingServer;
let http2Server: RecordingServer;

beforeAll(async () => {
  pki = await createMatrixPki();
  const options = (profile: MtlsProfile) =>
    mtlsOptions({
      key: pki.server.key,
      cert: pki.server.chain,
      ca: pki.caPem,
      crl: pki.crlPem,
      profile,
      // The suite may run on an end-of-life Node; warnings are not what this file checks
      onWarning: () => undefined,
    });
  server = await startRecordingServer('https', options('modern'));
  intermediateServer = await startRecordingServer('https', options('intermediate'));
  http2Server = await startRecordingServer('http2', options('modern'));
});

afterAll(async () => {
  await server?.close();
  await intermediateServer?.close();
  await http2Server?.close();
  pki?.dispose();
});

/** Runs one attempt and checks it against `expected`, on the server's side too. */
async function expectCell(
  target: RecordingServer,
  expected: Expected,
  attempt: () => Promise<ClientOutcome>,
  subject: string | undefined,
): Promise<ClientOutcome> {
  target.events.length = 0;
  const before = target.handled();
  const outcome = await attempt();
  if (expected.outcome === 'accepted') {
    expect(outcome).toMatchObject({ status: 200, body: 'ok' });
    expect(target.handled()).toBe(before + 1);
    expect(target.events).toEqual([]);
    return outcome;
  }
  expect(outcome.status).toBe(0);
  expect(target.handled()).toBe(before);
  if (expected.outcome === 'client-refuses') {
    expect(outcome.error).toBe(expected.errorCode);
    expect(target.events).toEqual([]);
    return outcome;
  }
  await waitFor(() => target.events.length > 0);
  expect(target.events).toHaveLength(1);
  expect(target.events[0]).toMatchObject({ kind: 'tls', outcome: 'reject', reason: expected.reason });
  expect(target.events[0]?.detail).toMatchObject({ remoteAddress: '127.0.0.1' });
  expect(target.events[0]?.peer?.['tls.client.subject']).toBe(expected.reportsSubject ? subject : undefined);
  return outcome;
}

describe.each(
  (
    [
      ['curl', curlClient, false, hasCurl],
      ['openssl s_client', opensslClient, false, hasOpenssl],
      ['Node https', nodeHttpsClient, true, true],
      ['undici', undiciClient, true, true],
    ] as const satisfies readonly (readonly [string, MatrixClient, boolean, boolean])[]
  ).filter(([, , , installed]) => installed),
)('when %s connects', (_clientName, client, nodeTlsClient) => {
  describe('to the modern profile', () => {
    it.for(MATRIX.map((row) => [row.name, row] as const))('%s', async ([, row]) => {
      const identity = row.certificate === undefined ? undefined : pki.clients[row.certificate];
      await expectCell(
        server,
        expectationFor(row, nodeTlsClient, NODE_MAJOR),
        () => client({ port: server.port, pki, identity, tls12Only: row.tls12Only }),
        identity?.subject,
      );
    });
  });

  // TLS 1.2 sends the client certificate in clear and rejects it on another path (curl: exit 35, not 56)
  describe('with TLS 1.2 only to the intermediate profile', () => {
    it.for(MATRIX.filter((row) => !row.tls12Only).map((row) => [row.name, row] as const))('%s', async ([, row]) => {
      const identity = row.certificate === undefined ? undefined : pki.clients[row.certificate];
      await expectCell(
        intermediateServer,
        expectationFor(row, nodeTlsClient, NODE_MAJOR),
        () => client({ port: intermediateServer.port, pki, identity, tls12Only: true }),
        identity?.subject,
      );
    });
  });
});

describe.skipIf(!hasCurl)('when curl speaks HTTP/2 to http2.createSecureServer(mtlsOptions(...))', () => {
  it('accepts a valid client certificate over h2', async () => {
    const outcome = await expectCell(
      http2Server,
      { outcome: 'accepted' },
      () => curlClient({ port: http2Server.port, pki, identity: pki.clients.valid, tls12Only: false, http2: true }),
      undefined,
    );
    expect(outcome.httpVersion).toBe('2');
    expect(http2Server.httpVersions.at(-1)).toBe('2.0');
  });

  it('rejects a certificate from another CA and reports it', async () => {
    await expectCell(
      http2Server,
      { outcome: 'rejected', reason: 'TLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE', reportsSubject: true },
      () => curlClient({ port: http2Server.port, pki, identity: pki.clients.otherCa, tls12Only: false, http2: true }),
      pki.clients.otherCa.subject,
    );
  });
});

describe('docs/verification.md', () => {
  it('shows the matrix this file runs', () => {
    const docs = readFileSync(new URL('../../docs/verification.md', import.meta.url), 'utf8');
    expect(normalizeMarkdownTables(docs)).toContain(normalizeMarkdownTables(renderMatrixMarkdown()));
  });
});
