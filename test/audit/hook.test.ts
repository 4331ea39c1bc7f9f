import { mkdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import Router from '@koa/router';
import Koa from 'koa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { configureAudit, emitOperationalAudit } from '../../src/audit/hook.js';
import { requirePeer } from '../../src/authz/index.js';
import { InvalidOptionError } from '../../src/errors.js';
import { peerCertificate } from '../../src/identity/index.js';
import { createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { createSandbox, type Sandbox, sandboxPath } from '../../src/sandbox/index.js';
import { mtlsOptions, onTlsClientRejected, watchCertificates } from '../../src/tls/index.js';
import { httpsRequest } from '../helpers/https-client.js';
import { close, listen } from '../helpers/listen.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

describe('configureAudit', () => {
  it.each([
    ['a non-object', 'x', /"configureAudit" must be a plain object/],
    ['an unknown key', { onAudti: () => {} }, /"configureAudit.onAudti" is not a known option/],
    ['a hook that is not a function', { onAudit: 'log' }, /"configureAudit.onAudit" must be a function/],
    ['a negative window', { repeatWindowMs: -1 }, /"configureAudit.repeatWindowMs" must be an integer/],
  ])('refuses %s at once', (_, options, message) => {
    expect(() => configureAudit(options as never)).toThrow(InvalidOptionError);
    expect(() => configureAudit(options as never)).toThrow(message);
  });

  it('delivers identical operational events once per window, then reports how many were held back', () => {
    const events: AuditEvent[] = [];
    restore = configureAudit({ onAudit: (event) => events.push(event), repeatWindowMs: 1000 });
    const refused: AuditEvent = { kind: 'tls', outcome: 'reject', reason: 'TLS_ROTATION_REFUSED', detail: { n: 1 } };
    const other: AuditEvent = { ...refused, detail: { n: 2 } };
    expect(emitOperationalAudit(undefined, refused, 0)).toBe(true);
    expect(emitOperationalAudit(undefined, refused, 400)).toBe(false);
    expect(emitOperationalAudit(undefined, refused, 999)).toBe(false);
    expect(emitOperationalAudit(undefined, other, 999)).toBe(true);
    expect(emitOperationalAudit(undefined, refused, 1000)).toBe(true);
    expect(emitOperationalAudit(undefined, refused, 1001)).toBe(false);
    expect(events).toEqual([refused, other, { ...refused, suppressed: 2 }]);
  });

  it('delivers every operational event with repeatWindowMs: 0', () => {
    const events: AuditEvent[] = [];
    restore = configureAudit({ onAudit: (event) => events.push(event), repeatWindowMs: 0 });
    const warning: AuditEvent = { kind: 'sandbox', outcome: 'warn', reason: 'MOUNTS_UNKNOWN' };
    for (let i = 0; i < 3; i += 1) emitOperationalAudit(undefined, warning, i);
    expect(events).toHaveLength(3);
  });

  it('gives way to a factory’s own onAudit, and restores the previous configuration', () => {
    const global: AuditEvent[] = [];
    const local: AuditEvent[] = [];
    const undo = configureAudit({ onAudit: (event) => global.push(event) });
    emitOperationalAudit((event) => local.push(event), { kind: 'posture', outcome: 'warn', reason: 'RUNS_AS_ROOT' });
    undo();
    emitOperationalAudit(undefined, { kind: 'posture', outcome: 'warn', reason: 'SECCOMP_OFF' });
    expect(local.map((event) => event.reason)).toEqual(['RUNS_AS_ROOT']);
    expect(global).toEqual([]);
  });
});

describe('one hook, set once, hears every module over real TLS', () => {
  const dir = temporaryDirectory('audit-hook');
  const events: AuditEvent[] = [];
  let server: https.Server;
  let port: number;
  let ca: string;
  let allowed: IssuedCertificate;
  let forbidden: IssuedCertificate;
  let stranger: IssuedCertificate;
  let sandbox: Sandbox;
  let handlerRuns = 0;
  let undo: () => void;

  beforeAll(async () => {
    undo = configureAudit({ onAudit: (event) => events.push(event) });
    const authority = await createCertificateAuthority();
    const other = await createCertificateAuthority();
    const serverCertificate = await authority.issueServer();
    allowed = await authority.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/reader'] } });
    forbidden = await authority.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/guest'] } });
    stranger = await other.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/reader'] } });
    ca = authority.root;
    const files = {
      keyFile: `${dir.path}/server-key.pem`,
      certFile: `${dir.path}/server.pem`,
      caFile: `${dir.path}/ca.pem`,
    };
    writeFileSync(files.keyFile, serverCertificate.key, { mode: 0o600 });
    writeFileSync(files.certFile, serverCertificate.chain);
    writeFileSync(files.caFile, ca);
    mkdirSync(`${dir.path}/files`);
    writeFileSync(`${dir.path}/files/a.txt`, 'a');
    sandbox = await createSandbox(`${dir.path}/files`);

    const router = new Router();
    router.get(
      '/files/:name',
      requirePeer({ spiffe: 'spiffe://example.org/ns/prod/sa/reader' }),
      sandboxPath({ sandbox, from: (ctx) => ctx.params.name }),
      (ctx) => {
        handlerRuns += 1;
        ctx.body = 'ok';
      },
    );
    const app = new Koa().use(peerCertificate()).use(router.routes());
    server = https.createServer(mtlsOptions(files), app.callback());
    onTlsClientRejected(server);
    const watcher = watchCertificates(server, files, { watch: false, onError: () => {} });
    server.on('close', () => watcher.close());
    port = await listen(server);

    // A broken rotation, retried three times: one event, not three.
    writeFileSync(files.keyFile, 'not a key', { mode: 0o600 });
    for (let i = 0; i < 3; i += 1) expect(watcher.reload().status).toBe('failed');
  });

  afterAll(async () => {
    await close(server);
    await sandbox.close();
    undo();
    dir.dispose();
  });

  const get = async (path: string, client: IssuedCertificate) => {
    const { status, body } = await httpsRequest({ port, path, ca, cert: client.chain, key: client.key });
    return { status, body };
  };

  it('reports the policy denial (authz), the refused path (sandbox) and the allow, with the handler run once', async () => {
    expect(await get('/files/a.txt', allowed)).toEqual({ status: 200, body: 'ok' });
    expect(await get('/files/a.txt', forbidden)).toEqual({ status: 403, body: 'Forbidden' });
    expect((await get('/files/.env', allowed)).status).toBe(400);
    expect(handlerRuns).toBe(1);
    const seen = events.map((event) => `${event.kind} ${event.outcome} ${event.reason}`);
    expect(seen).toContain('authz allow POLICY_MATCH');
    expect(seen).toContain('authz deny POLICY_NO_MATCH');
    expect(seen.some((line) => line.startsWith('sandbox reject PATH_'))).toBe(true);
  });

  it('reports a handshake refused by onTlsClientRejected without a hook of its own', async () => {
    expect((await get('/files/a.txt', stranger)).status).toBe(0);
    await expect
      .poll(() =>
        events.some(
          (event) => event.kind === 'tls' && event.outcome === 'reject' && event.reason !== 'TLS_ROTATION_REFUSED',
        ),
      )
      .toBe(true);
  });

  it('reports the refused rotation once, not once per retry', () => {
    expect(events.filter((event) => event.reason === 'TLS_ROTATION_REFUSED')).toHaveLength(1);
  });
});
