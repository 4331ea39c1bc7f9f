/**
 * A real browser with the PKCS#12 bundle `koa-mtls certs` writes "for browsers": Debian's Chromium, headless, with
 * the bundle imported into its NSS database (`pk12util`), the development CA trusted (`certutil`), and an
 * `AutoSelectCertificateForUrls` policy for this server only. It reaches a route guarded by `requirePeer` on an
 * `mtlsOptions` server, and a profile without the bundle is refused at the handshake.
 *
 * Needs `chromium`, `libnss3-tools` and root for `unshare -m`: Chromium reads policies only from
 * /etc/chromium/policies/managed, so each browser runs in a private mount namespace where the test's own policy
 * directory is bind-mounted over it. Nothing outside the test's temporary directory is written.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { requirePeer } from '../../src/authz/index.js';
import { main } from '../../src/cli/main.js';
import { peerCertificate } from '../../src/identity/index.js';
import { mtlsOptions, onTlsClientRejected } from '../../src/tls/index.js';
import { capturedIo } from '../helpers/captured-io.js';
import { externalTools, MOUNT_NAMESPACES } from '../helpers/external-tools.js';
import { close, listen } from '../helpers/listen.js';
import { runProgram } from '../helpers/processes.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const POLICY_DIR = '/etc/chromium/policies/managed';

describe.skipIf(
  !externalTools(
    'real browser (Chromium with an imported PKCS#12 bundle)',
    ['chromium', 'pk12util', 'certutil', 'unshare'],
    MOUNT_NAMESPACES,
  ) || !existsSync(POLICY_DIR),
)('headless Chromium with the certs PKCS#12 bundle', () => {
  const { path: work, dispose: removeWork } = temporaryDirectory('browser');
  const policies = join(work, 'policies');
  const rejections: AuditEvent[] = [];
  let server: https.Server;
  let url = '';
  let handlerRuns = 0;

  /** A browser home whose NSS database trusts the development CA and, if `withBundle`, holds the client bundle. */
  function browserHome(name: string, withBundle: boolean): string {
    const home = join(work, name);
    const db = `sql:${join(home, '.pki/nssdb')}`;
    mkdirSync(join(home, '.pki/nssdb'), { recursive: true });
    execFileSync('certutil', ['-d', db, '-N', '--empty-password']);
    execFileSync('certutil', ['-d', db, '-A', '-t', 'C,,', '-n', 'koa-mtls-dev-ca', '-i', join(work, 'ca.pem')]);
    if (withBundle) execFileSync('pk12util', ['-d', db, '-i', join(work, 'client.p12'), '-W', 'browser-test']);
    return home;
  }

  function chromium(home: string, ...args: string[]) {
    const flags = ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars'];
    const browser = ['chromium', ...flags, `--user-data-dir=${join(home, 'profile')}`, ...args, url];
    // The policy directory exists only inside this private mount namespace, for this one browser process.
    const mounted = ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" "$2" && shift 2 && exec "$@"'];
    return runProgram('unshare', [...mounted, 'sh', policies, POLICY_DIR, ...browser], {
      cwd: work,
      timeoutMs: 60_000,
      env: { ...process.env, HOME: home },
    });
  }

  beforeAll(async () => {
    const io = capturedIo(work);
    const init = ['certs', 'init', '--out', '.', '--key-type', 'rsa-2048', '--p12-password', 'browser-test'];
    expect(await main(init, io)).toBe(0);
    const app = new Koa()
      .use(peerCertificate())
      .use(requirePeer({ trustDomain: 'example.org' }))
      .use((ctx) => {
        handlerRuns += 1;
        ctx.type = 'html';
        ctx.body = `<h1>hello ${ctx.state.peer.spiffeId}</h1>`;
      });
    const files = { keyFile: 'server-key.pem', certFile: 'server.pem', caFile: 'ca.pem' };
    const options = Object.fromEntries(Object.entries(files).map(([key, file]) => [key, join(work, file)]));
    server = https.createServer(mtlsOptions({ ...options, profile: 'intermediate' }), app.callback());
    onTlsClientRejected(server, (event) => rejections.push(event));
    url = `https://127.0.0.1:${await listen(server)}/`;
    mkdirSync(policies);
    const rule = { pattern: url.slice(0, -1), filter: { ISSUER: { CN: 'koa-mtls development root CA' } } };
    writeFileSync(
      join(policies, 'koa-mtls-test.json'),
      JSON.stringify({ AutoSelectCertificateForUrls: [JSON.stringify(rule)] }),
    );
  }, 60_000);

  afterAll(async () => {
    await close(server);
    removeWork();
  });

  it('reaches the guarded route with the imported bundle, selected by policy', async () => {
    const home = browserHome('with-bundle', true);
    const run = await chromium(home, '--dump-dom');
    expect(run.stdout).toContain('<h1>hello spiffe://example.org/ns/dev/sa/client</h1>');
    expect(handlerRuns).toBeGreaterThan(0); // the page and, perhaps, /favicon.ico
    const shot = join(work, 'page.png');
    await chromium(home, '--window-size=900,120', `--screenshot=${shot}`);
    expect(readFileSync(shot).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  }, 120_000);

  it('is refused at the handshake without the bundle, and the rejection is reported', async () => {
    const runsBefore = handlerRuns;
    const rejectionsBefore = rejections.length;
    const run = await chromium(browserHome('without-bundle', false), '--dump-dom');
    expect(run.stdout).not.toContain('hello');
    expect(handlerRuns).toBe(runsBefore);
    await expect.poll(() => rejections.length).toBeGreaterThan(rejectionsBefore);
    const seen = rejections.slice(rejectionsBefore).map((event) => `${event.kind} ${event.outcome}`);
    expect(seen).toContain('tls reject');
  }, 120_000);
});
