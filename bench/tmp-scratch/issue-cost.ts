import { createCertificateAuthority } from '../../src/pki/index.js';
const ca = await createCertificateAuthority({ subject: 'CN=r' });
const t = performance.now();
for (let i = 0; i < 50; i++) await ca.issueClient({ subject: `CN=c${i}`, san: { uri: [`spiffe://x.test/c${i}`] } });
console.log('ms per cert', (performance.now() - t) / 50);
