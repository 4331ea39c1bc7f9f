import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { createCertificateAuthority } from '../../src/pki/index.js';
import { capturedIo, runCli } from '../helpers/captured-io.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { buildTree, removeTree } from '../posture/fixture-tree.js';
import { HARDENED_CONTAINER } from '../posture/fixtures.js';

const { path: dir, dispose: removeDir } = temporaryDirectory('doctor-certs');
let hardened: string;
beforeAll(() => {
  hardened = buildTree(HARDENED_CONTAINER);
});
afterAll(() => {
  removeTree(hardened);
  removeDir();
});

const doctor = (...args: string[]) => runCli(['doctor', '--root', hardened, ...args], { cwd: dir });

describe('koa-mtls doctor --certs DIR', () => {
  it('passes a directory written by `koa-mtls certs init`', async () => {
    expect(await main(['certs', 'init', '--out', 'good'], capturedIo(dir))).toBe(0);
    const run = await doctor('--certs', 'good');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Certificates in ${join(dir, 'good')} (koa-mtls certs)`);
    expect(run.stdout).toContain('ok       mtlsOptions accepts these files');
  });

  it('fails (exit 1) on a Kubernetes TLS secret that mtlsOptions refuses, and says why with the code', async () => {
    const root = await createCertificateAuthority();
    const expired = await root.issueServer({ notBefore: new Date('2020-01-01'), notAfter: new Date('2020-02-01') });
    const secret = join(dir, 'secret');
    rmSync(secret, { recursive: true, force: true });
    mkdirSync(secret);
    writeFileSync(join(secret, 'tls.crt'), expired.chain);
    writeFileSync(join(secret, 'tls.key'), expired.key, { mode: 0o600 });
    writeFileSync(join(secret, 'ca.crt'), root.root);
    const run = await doctor('--certs', 'secret', '--json');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.exitCode).toBe(1);
    expect(report.certificates.layout).toBe('Kubernetes TLS secret (cert-manager)');
    expect(report.certificates.refusal.code).toBe('ERR_MTLS_CONFIG_CERT_EXPIRED');
    expect((await doctor('--certs', 'secret', '--fail-on', 'none')).code).toBe(0);
  });

  it('refuses a directory with no known layout as a usage error (exit 2)', async () => {
    const run = await doctor('--certs', '.');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no known layout');
  });
});
