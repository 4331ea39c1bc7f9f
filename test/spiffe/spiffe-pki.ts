/**
 * Two SPIFFE trust domains made at test time with the dev PKI: `example.org` (the server's own) and `partner.org`
 * (federated), with X509-SVIDs for servers and clients, and a Koa app behind an https server started from the fake
 * Workload API.
 */
import { Agent, createServer, type Server } from 'node:https';
import Koa from 'koa';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import type { TrustDomainsTarget } from '../../src/spiffe/index.js';
import type { Trust } from '../../src/trust/index.js';
import { httpsRequest } from '../helpers/https-client.js';
import { derOf, svidEntry } from './fake-workload-api.js';

export const SERVER_ID = 'spiffe://example.org/ns/prod/sa/api';

/**
 * A stand-in trust that only records (or refuses) what `spiffeMtls` hands it: the `update({ trustDomains })` part of
 * the trust contract, which is all `koa-mtls/spiffe` calls.
 */
export function recordingTrust(onUpdate: (trustDomains: Readonly<Record<string, readonly string[]>>) => void): Trust {
  const target: TrustDomainsTarget = { update: ({ trustDomains }) => onUpdate(trustDomains) };
  return target as unknown as Trust;
}

/** A trust domain: its root CA. */
export async function trustDomain(name: string): Promise<CertificateAuthority> {
  return createCertificateAuthority({ subject: `CN=${name} root,O=SPIRE` });
}

/** A server X509-SVID: the SPIFFE ID plus the names the test client dials. */
export function serverSvid(ca: CertificateAuthority, options: { notAfter?: Date; notBefore?: Date } = {}) {
  return ca.issueServer({
    san: { uri: [SERVER_ID], dns: ['localhost'], ip: ['127.0.0.1'] },
    extendedKeyUsage: ['serverAuth', 'clientAuth'],
    ...options,
  });
}

/** A client X509-SVID for `spiffeId`. */
export function clientSvid(ca: CertificateAuthority, spiffeId: string): Promise<IssuedCertificate> {
  return ca.issueClient({ san: { uri: [spiffeId] }, extendedKeyUsage: ['clientAuth', 'serverAuth'] });
}

/** An `X509SVIDResponse` for the server's SVID, its own bundle and optional federated bundles (name → PEM roots). */
export function x509SvidMessage(
  svid: IssuedCertificate,
  ownBundle: string,
  federated: Readonly<Record<string, string>> = {},
): Record<string, unknown> {
  return {
    svids: [svidEntry(SERVER_ID, svid, ownBundle)],
    crl: [],
    federated_bundles: Object.fromEntries(Object.entries(federated).map(([name, pem]) => [name, derOf(pem)])),
  };
}

/** A Koa app that answers with the handler's count, so denial tests can assert the handler did not run. */
export function app(): { readonly callback: ReturnType<Koa['callback']>; readonly handled: () => number } {
  const koa = new Koa();
  let handled = 0;
  koa.use((ctx) => {
    handled += 1;
    ctx.body = 'ok';
  });
  return { callback: koa.callback(), handled: () => handled };
}

/** The https server type the tests build. */
export type HttpsServer = Server;
export { createServer };

/** The outcome of one request: status (0 when the TLS or HTTP exchange failed), body, and the server's leaf. */
export interface Outcome {
  readonly status: number;
  readonly body: string;
  readonly error?: string;
  readonly serverFingerprint256?: string;
  /** Whether the request went over a kept-alive connection opened before it. */
  readonly reused?: boolean;
}

/** One GET through `agent` (keep-alive when the agent keeps connections), trusting `ca` for the server. */
export async function get(
  port: number,
  ca: string,
  client: IssuedCertificate | undefined,
  agent?: Agent,
  path = '/',
): Promise<Outcome> {
  const credentials = client === undefined ? {} : { cert: client.chain, key: client.key };
  const answer = await httpsRequest({ port, ca, path, ...credentials, ...(agent === undefined ? {} : { agent }) });
  const fingerprint = answer.serverFingerprint256?.replaceAll(':', '').toLowerCase();
  return {
    status: answer.status,
    body: answer.body,
    ...(answer.error === undefined ? {} : { error: answer.error }),
    ...(fingerprint === undefined ? {} : { serverFingerprint256: fingerprint }),
    reused: answer.reused,
  };
}

export { Agent };
