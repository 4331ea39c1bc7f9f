/**
 * Certificate rotation without a restart, with a Kubernetes-style secret directory: the files live in a timestamped
 * directory that a `..data` symlink points to, and an update swaps the link atomically. `watchCertificates` picks
 * the swap up, validates the new set fully, and only then installs it; a half-written set keeps the old one.
 *
 * Run: `npx tsx examples/rotation.ts` — serves on https://localhost:8443 (or $PORT) and rotates to a new server
 * certificate every 10 seconds, printing each rotation.
 */
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import { type CertificateWatcher, mtlsOptions, peerCertificate, requirePeer, watchCertificates } from 'koa-mtls';
import type { CertificateAuthority } from 'koa-mtls/pki';
import { createLocalPki, removeOnExit, runIfMain } from './support/local-pki.js';

/** A Kubernetes secret volume: `<dir>/..data -> <dir>/..<stamp>`, and `<dir>/tls.crt -> ..data/tls.crt` etc. */
export async function writeSecretVolume(dir: string, ca: CertificateAuthority, stamp: string): Promise<void> {
  const server = await ca.issueServer();
  const version = join(dir, `..${stamp}`);
  mkdirSync(version);
  writeFileSync(join(version, 'tls.crt'), server.chain);
  writeFileSync(join(version, 'tls.key'), server.key, { mode: 0o600 });
  writeFileSync(join(version, 'ca.crt'), ca.root);
  // The kubelet's atomic writer: a new ..data link, renamed over the old one in one step
  symlinkSync(`..${stamp}`, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of ['tls.crt', 'tls.key', 'ca.crt']) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // the per-file links already exist and keep pointing through ..data
    }
  }
}

/** The files `mtlsOptions` and `watchCertificates` read from a secret volume at `dir`. */
export function secretFiles(dir: string) {
  return { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), caFile: join(dir, 'ca.crt') };
}

/** An https server over `dir` that follows its rotations. */
export function serveWithRotation(dir: string, app: Koa): { server: https.Server; watcher: CertificateWatcher } {
  const server = https.createServer(mtlsOptions(secretFiles(dir)), app.callback());
  const watcher = watchCertificates(server, secretFiles(dir), {
    onRotated: (rotation) => console.log('rotated', rotation),
    onError: (error) => console.error('rotation refused, old certificate kept:', error.message),
  });
  server.on('close', () => watcher.close());
  return { server, watcher };
}

runIfMain(import.meta.url, async () => {
  const pki = await createLocalPki();
  const dir = removeOnExit(mkdtempSync(join(tmpdir(), 'koa-mtls-secret-')));
  await writeSecretVolume(dir, pki.ca, String(Date.now()));
  const client = await pki.client('client', { san: { uri: ['spiffe://example.org/ns/dev/sa/client'] } });
  const app = new Koa();
  app.use(peerCertificate());
  app.use(requirePeer({ trustDomain: 'example.org' }));
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  const port = Number(process.env.PORT ?? 8443);
  const { server } = serveWithRotation(dir, app);
  server.listen(port, '127.0.0.1', () =>
    console.log(
      `200, and a new server certificate every 10 s (-v shows it):\n${client.curl} -v https://localhost:${port}/`,
    ),
  );
  setInterval(() => void writeSecretVolume(dir, pki.ca, String(Date.now())), 10_000).unref();
});
