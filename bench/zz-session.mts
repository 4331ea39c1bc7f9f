import type { TLSSocket } from 'node:tls';
import { createCertificateAuthority } from '../src/pki/index.js';
import { verifiedSockets } from './harness/verified-sockets.js';
const ca = await createCertificateAuthority({ subject: 'CN=r' });
const clients = await Promise.all(Array.from({ length: 200 }, (_, i) => ca.issueClient({ subject: `CN=c${i}`, san: { uri: [`spiffe://x.test/c${i}`] } })));
const opened = await verifiedSockets(ca, clients, 1);
const sockets = opened.sets[0] as TLSSocket[];
const s0 = sockets[0] as TLSSocket;
const sess = s0.getSession();
console.log('session bytes', sess?.length, 'raw', s0.getPeerCertificate(false).raw.length, 'contains raw', sess?.includes(s0.getPeerCertificate(false).raw));
for (let r = 0; r < 3; r++) {
  let t = process.hrtime.bigint(); for (const s of sockets) s.getPeerCertificate(false); const a = Number(process.hrtime.bigint() - t) / sockets.length;
  t = process.hrtime.bigint(); for (const s of sockets) s.getSession(); const b = Number(process.hrtime.bigint() - t) / sockets.length;
  t = process.hrtime.bigint(); for (const s of sockets) s.getPeerX509Certificate(); const c = Number(process.hrtime.bigint() - t) / sockets.length;
  console.log('getPeerCertificate(false) ns', a.toFixed(0), 'getSession ns', b.toFixed(0), 'getPeerX509Certificate', c.toFixed(0));
}
opened.close();
