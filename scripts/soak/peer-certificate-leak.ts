/**
 * Focused reproducer for the native-memory growth the soak found: `onTlsClientRejected` makes the strict SNI
 * callback capture `getPeerX509Certificate()` on every connection, and on Node 20.20 that call leaks native memory
 * (RSS grows by several KB per call while the V8 heap stays flat); `getPeerCertificate(true)` does not.
 *
 * For each variant it opens new mTLS connections to a plain `https` server on 127.0.0.1 for `--seconds` (default 30)
 * and compares the median RSS (after `global.gc`) of the first and last third. Prints one JSON line per variant and
 * exits 1 when a judged variant (all but the bare `getPeerX509Certificate` call, the root cause shown for reference)
 * grows by more than 20 MB.
 *
 * Run: `node --expose-gc --import tsx scripts/soak/peer-certificate-leak.ts --seconds 30`
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type TLSSocket } from 'node:tls';
import { mtlsOptions, onTlsClientRejected } from '../../src/index.js';
import { createCertificateAuthority } from '../../src/pki/index.js';

type Variant = 'baseline' | 'getPeerCertificate' | 'getPeerX509Certificate' | 'onTlsClientRejected';

const VARIANTS: readonly Variant[] = [
  'baseline',
  'getPeerCertificate',
  'getPeerX509Certificate',
  'onTlsClientRejected',
];
// Growth above this (last third against first third, MB) counts as a leak.
const LEAK_MB = 20;

const secondsIndex = process.argv.indexOf('--seconds');
const seconds = secondsIndex === -1 ? 30 : Number(process.argv[secondsIndex + 1]);
// Bounded: it must stop by itself.
if (!Number.isInteger(seconds) || seconds < 5 || seconds > 600) throw new Error('--seconds must be 5–600');

const ca = await createCertificateAuthority();
const serverCertificate = await ca.issueServer();
const client = await ca.issueClient({ san: { uri: ['spiffe://example.org/ns/leak/sa/client'] } });
const clientContext = createSecureContext({ ca: ca.root, cert: client.chain, key: client.key });
const gc = (globalThis as { gc?: () => void }).gc;
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;
const mb = (bytes: number) => Math.round(bytes / 1048576);

async function run(
  variant: Variant,
): Promise<{ variant: Variant; connections: number; firstMb: number; lastMb: number }> {
  const server = https.createServer(
    mtlsOptions({ key: serverCertificate.key, cert: serverCertificate.chain, ca: ca.root }),
    (_request, response) => response.end('ok'),
  );
  if (variant === 'onTlsClientRejected') onTlsClientRejected(server, () => {});
  server.on('secureConnection', (socket: TLSSocket) => {
    if (variant === 'getPeerX509Certificate') void socket.getPeerX509Certificate();
    if (variant === 'getPeerCertificate') void socket.getPeerCertificate(true);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const samples: number[] = [];
  const sampler = setInterval(() => {
    gc?.();
    samples.push(process.memoryUsage().rss);
  }, 500);
  const deadline = Date.now() + seconds * 1000;
  let connections = 0;
  const connect = () =>
    new Promise<void>((resolve, reject) => {
      const options: https.RequestOptions & { secureContext: typeof clientContext } = {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        secureContext: clientContext,
        agent: false,
      };
      const request = https.request(options, (response) => {
        response.resume();
        response.on('end', resolve);
      });
      request.on('error', reject);
      request.end();
    });
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < deadline) {
        await connect();
        connections += 1;
      }
    }),
  );
  clearInterval(sampler);
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  const third = Math.floor(samples.length / 3);
  return {
    variant,
    connections,
    firstMb: mb(median(samples.slice(0, third))),
    lastMb: mb(median(samples.slice(samples.length - third))),
  };
}

let leaked = false;
for (const variant of VARIANTS) {
  const result = await run(variant);
  const growthMb = result.lastMb - result.firstMb;
  const judged = variant !== 'getPeerX509Certificate';
  if (judged && growthMb > LEAK_MB) leaked = true;
  console.log(JSON.stringify({ ...result, growthMb, leak: growthMb > LEAK_MB, judged, node: process.version }));
}
process.exit(leaked ? 1 : 0);
