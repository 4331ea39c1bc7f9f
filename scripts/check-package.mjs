// Checks the package as users get it: builds, packs, lints the tarball (publint, arethetypeswrong), installs it into
// an empty project and proves that `import` and `require` both type-check and run, and that the main entry point
// loads neither the development PKI's node-forge nor the SPIFFE subpath's gRPC. Exits non-zero on any problem.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'koa-mtls-pack-'));
const sh = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

try {
  sh('npm', ['run', '--silent', 'build']);
  const [packed] = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work]));
  const tarball = join(work, packed.filename);
  console.log(`packed ${packed.filename}: ${packed.entryCount} files, ${packed.size} bytes`);

  console.log(sh('npx', ['publint', 'run', tarball, '--strict']).trim());
  console.log(sh('npx', ['attw', tarball, '--format', 'table-flipped', '--no-emoji', '--no-color']).trim());

  const app = join(work, 'app');
  sh('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const pin = (name) =>
    `${name}@${JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version}`;
  sh(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      tarball,
      pin('koa'),
      pin('typescript'),
      pin('@types/koa'),
      pin('@types/node'),
    ],
    app,
  );

  writeFileSync(
    join(app, 'esm.ts'),
    `import { KoaMtlsError, type PeerIdentity } from 'koa-mtls';
import { createCertificateAuthority } from 'koa-mtls/pki';
import { spiffeMtls, type SpiffeMtlsOptions } from 'koa-mtls/spiffe';
const spiffeOptions: SpiffeMtlsOptions = { address: 'unix:///run/spire/agent.sock' };
console.log('esm spiffe', typeof spiffeMtls, spiffeOptions.address);
const err = new KoaMtlsError('ERR_MTLS_PEER_REQUIRED', 'peer required', { status: 401 });
const peer: PeerIdentity | undefined = undefined;
const ca = await createCertificateAuthority();
console.log('esm', err.status, err.expose, peer === undefined, ca.certificate.startsWith('-----BEGIN CERTIFICATE-----'));
`,
  );
  writeFileSync(
    join(app, 'cjs.cts'),
    `import koaMtls = require('koa-mtls');
const loaded = Object.keys(require.cache).filter((file) => /node-forge|@peculiar|reflect-metadata/.test(file));
if (loaded.length > 0) throw new Error('koa-mtls loaded a PKI-only dependency: ' + loaded.join(', '));
const grpc = Object.keys(require.cache).filter((file) => /@grpc|protobufjs/.test(file));
if (grpc.length > 0) throw new Error('koa-mtls loaded gRPC: ' + grpc.join(', '));
const err = new koaMtls.KoaMtlsError('ERR_MTLS_PEER_FORBIDDEN', 'forbidden', { status: 403 });
console.log('cjs', err.status, err.code, typeof require('koa-mtls/pki').createCertificateAuthority);
console.log('cjs spiffe', typeof require('koa-mtls/spiffe').spiffeMtls);
`,
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        target: 'es2022',
        strict: true,
        skipLibCheck: false,
        outDir: 'out',
        types: ['node'],
      },
      files: ['esm.ts', 'cjs.cts'],
    }),
  );
  sh('npx', ['tsc', '-p', '.'], app);
  console.log(sh('node', ['out/esm.js'], app).trim());
  console.log(sh('node', ['out/cjs.cjs'], app).trim());
  console.log(sh('npx', ['koa-mtls', 'certs', 'init', '--out', 'pki'], app).split('\n')[0]);
  for (const file of ['ca.pem', 'server.pem', 'server-key.pem', 'client.pem', 'client-key.pem'])
    readFileSync(join(app, 'pki', file));
  console.log('package check passed');
} finally {
  rmSync(work, { recursive: true, force: true });
}
