/**
 * Micro-benchmark of the trust engine: µs per first-seen verification (a new leaf under a known intermediate: parse,
 * signatures, path rules), per cached verification, and the TLS path's per-connection lookup for a known certificate.
 *
 *   npx tsx bench/trust-verify.ts
 */
import { createHash, X509Certificate } from 'node:crypto';
import { createCertificateAuthority } from '../src/pki/index.js';
import { createTrust, trustState } from '../src/trust/trust.js';

const root = await createCertificateAuthority({ subject: 'CN=Bench Root' });
const ica = await root.createIntermediate({ subject: 'CN=Bench ICA' });
const leaves = await Promise.all(Array.from({ length: 300 }, (_, i) => ica.issueClient({ subject: `CN=c${i}` })));
const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
const leafDers = leaves.map((leaf) => der(leaf.certificate));
const trust = createTrust({ ca: root.root, cacheSize: 10_000 });
const state = trustState(trust, 't');
const icaDer = der(ica.certificate);
const now = Date.now();
// warm-up on 50
for (const leaf of leafDers.slice(0, 50))
  state.verify(state.certificate(leaf), [state.certificate(icaDer)], now, undefined);
let t = process.hrtime.bigint();
for (const leaf of leafDers.slice(50)) {
  const o = state.verify(state.certificate(leaf), [state.certificate(icaDer)], now, undefined);
  if (!o.outcome.ok) throw new Error('bad');
}
const first = Number(process.hrtime.bigint() - t) / 1000 / 250;
const l0 = state.certificate(leafDers[60] as Uint8Array);
const i0 = state.certificate(icaDer);
const N = 200_000;
t = process.hrtime.bigint();
for (let i = 0; i < N; i++) state.verify(l0, [i0], now, undefined);
const cached = Number(process.hrtime.bigint() - t) / 1000 / N;
// the socket path's per-connection cost for a known certificate: hash what was sent, build the key, look up
const leafRaw = Buffer.from(leafDers[60] as Uint8Array);
const icaRaw = Buffer.from(icaDer);
const map = new Map<string, number>();
t = process.hrtime.bigint();
for (let i = 0; i < N; i++) {
  const key = `1:${createHash('sha256').update(leafRaw).digest('hex')}:${createHash('sha256').update(icaRaw).digest('hex')}`;
  map.get(key);
}
const lookup = Number(process.hrtime.bigint() - t) / 1000 / N;
console.log(
  JSON.stringify({
    firstSeenMicros: first.toFixed(1),
    cachedVerifyMicros: cached.toFixed(2),
    socketLookupMicros: lookup.toFixed(2),
  }),
);
