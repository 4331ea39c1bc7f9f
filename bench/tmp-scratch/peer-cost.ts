import { createServer } from 'node:https';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createCertificateAuthority } from '../../src/pki/index.js';
const ca = await createCertificateAuthority({ subject: 'CN=r' });
const inter = ca; // direct
const server = await ca.issueServer();
const client = await ca.issueClient({ subject: 'CN=c', san: { uri: ['spiffe://x.test/a'] } });
const srv = createServer({ key: server.key, cert: server.chain, ca: ca.root, requestCert: true, rejectUnauthorized: true }, (req, res) => {
  const s = req.socket as TLSSocket;
  const N = 2000;
  const time = (f: () => unknown) => { const t = process.hrtime.bigint(); for (let i = 0; i < N; i++) f(); return Number(process.hrtime.bigint() - t) / N / 1000; };
  const r: Record<string, number> = {};
  for (let k = 0; k < 2; k++) {
    r.gpcFalse = time(() => s.getPeerCertificate(false));
    r.gpcTrue = time(() => s.getPeerCertificate(true));
    r.x509 = time(() => s.getPeerX509Certificate()?.raw);
  }
  res.end(JSON.stringify(r));
});
srv.listen(0, '127.0.0.1', () => {
  const port = (srv.address() as any).port;
  request({ host: '127.0.0.1', port, key: client.key, cert: client.chain, ca: ca.root, servername: 'localhost', rejectUnauthorized: false }, (res) => {
    let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => { console.log(process.version, b); srv.close(); process.exit(0); });
  }).end();
});
