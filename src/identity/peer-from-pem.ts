/**
 * `peerFromPem(pem)`: the `PeerIdentity` a server would put on `ctx.state.peer` for a certificate, built offline by
 * the same parser and identity builder `peerCertificate()` uses — for explaining a decision without a running server.
 */
import { createHash } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';
import { pemBlocks } from '../trust/pem.js';
import { createIdentity } from './create-identity.js';
import { parseCertificate } from './parse-certificate.js';
import type { PeerIdentity } from './peer-identity.js';

/** The same bound `peerCertificate()` applies by default (a certificate with more SANs is no peer). */
const MAX_SUBJECT_ALT_NAMES = 256;

/**
 * Builds the `PeerIdentity` of the first certificate in `pem` (a certificate or a chain, leaf first), exactly as
 * `peerCertificate()` would after a successful handshake: `source: 'tls'`, `verifiedBy: 'tls-handshake'`, and
 * `issuerChain` from the certificates after the leaf. **Nothing is verified here** — not the chain, not the
 * validity period: this is for diagnosis (`explain`, `koa-mtls explain`), never for deciding who a caller is.
 *
 * @throws InvalidOptionError when `pem` holds no certificate, or the certificate cannot be read exactly.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { explain, peerFromPem } from 'koa-mtls';
 *
 * const peer = peerFromPem(readFileSync('client.pem', 'utf8'));
 * const why = await explain({ trustDomain: 'example.org' }, peer);
 * console.log(why.allowed, why.rule, why.steps);
 * ```
 */
export function peerFromPem(pem: string): PeerIdentity {
  if (typeof pem !== 'string') throw new InvalidOptionError('pem', 'must be a PEM string');
  const certificates = pemBlocks(pem).filter((block) => block.type === 'CERTIFICATE' && block.der.length > 0);
  const [leaf, ...issuers] = certificates;
  if (leaf === undefined) throw new InvalidOptionError('pem', 'holds no "BEGIN CERTIFICATE" block');
  let parsed: ReturnType<typeof parseCertificate>;
  try {
    parsed = parseCertificate(leaf.der, { maxSubjectAltNames: MAX_SUBJECT_ALT_NAMES });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new InvalidOptionError('pem', `holds a certificate peerCertificate() would refuse to read (${why})`);
  }
  const issuerChain = [...new Set(issuers.map((block) => createHash('sha256').update(block.der).digest('hex')))];
  // No trust is consulted offline: the SPIFFE ID is the certificate's own, as without trust domains.
  return createIdentity(parsed, { source: 'tls', verifiedBy: 'tls-handshake', issuerChain, spiffeId: parsed.spiffeId });
}
