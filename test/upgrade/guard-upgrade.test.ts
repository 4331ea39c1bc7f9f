/**
 * WebSocket upgrades obey the same middleware as routes: a real `ws` client over mTLS to a `ws` server that accepts
 * only what `guardUpgrade` lets through — allowed, denied by policy (403), no certificate on an optional-certificate
 * server (401), and the identity reaches the socket handler.
 */
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import Router from '@koa/router';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { allowAnonymous } from '../../src/anonymous/index.js';
import type { AuditEvent } from '../../src/audit/event.js';
import { requirePeer } from '../../src/authz/index.js';
import { InvalidOptionError } from '../../src/errors.js';
import { peerCertificate } from '../../src/identity/index.js';
import type { PeerIdentity } from '../../src/identity/peer-identity.js';
import { type CertificateAuthority, createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { mtlsOptions } from '../../src/tls/index.js';
import { guardUpgrade } from '../../src/upgrade/index.js';
import { close, listen } from '../helpers/listen.js';

const CHAT = 'spiffe://example.org/ns/prod/sa/chat';
let root: CertificateAuthority;
let serverCert: IssuedCertificate;
let chat: IssuedCertificate;
let reporting: IssuedCertificate;
let port: number;
const connected: (string | null)[] = [];
const audit: AuditEvent[] = [];
let server: https.Server;

/** Opens a WebSocket; resolves to the first message, or the HTTP status the upgrade was refused with. */
function open(path: string, who: IssuedCertificate | undefined): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`wss://localhost:${port}${path}`, {
      ca: root.root,
      ...(who === undefined ? {} : { cert: who.chain, key: who.key }),
    });
    socket.on('message', (data) => {
      resolve(`message ${String(data)}`);
      socket.close();
    });
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => resolve(`${response.statusCode} ${body.trim()}`));
    });
    socket.on('error', () => resolve('refused'));
  });
}

beforeAll(async () => {
  root = await createCertificateAuthority({ subject: 'CN=Upgrade Root' });
  serverCert = await root.issueServer();
  chat = await root.issueClient({ san: { uri: [CHAT] } });
  reporting = await root.issueClient({ san: { uri: ['spiffe://example.org/ns/prod/sa/reporting'] } });

  const app = new Koa();
  const publicRoutes = new Router();
  publicRoutes.get('/public-feed', allowAnonymous(), () => {});
  const identify = peerCertificate({ anonymousRoutes: publicRoutes, onAudit: (event) => audit.push(event) });
  server = https.createServer(
    mtlsOptions({
      key: serverCert.key,
      cert: serverCert.chain,
      ca: root.root,
      clientCertificate: 'optional',
      onWarning: () => {},
    }),
    app.callback(),
  );
  const wss = new WebSocketServer({ noServer: true });
  // The peer is the third argument our accept() passes to emit('connection'); ws types only the first two.
  wss.on('connection', (ws: WebSocket, _request: IncomingMessage, peer?: PeerIdentity) => {
    connected.push(peer?.spiffeId ?? null);
    ws.send(`hello ${peer?.spiffeId ?? 'anonymous'}`);
  });
  const accept = (request: IncomingMessage, socket: Duplex, head: Buffer, peer: PeerIdentity | undefined) =>
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request, peer));
  const chatGuard = guardUpgrade(app, { middleware: [identify, requirePeer({ spiffe: CHAT })], accept });
  const feedGuard = guardUpgrade(app, { middleware: [identify], accept });
  server.on('upgrade', (request, socket, head) => {
    (request.url === '/public-feed' ? feedGuard : chatGuard)(request, socket, head);
  });
  port = await listen(server);
});

afterAll(() => close(server));

describe('when a WebSocket upgrade passes through guardUpgrade', () => {
  it.each<[string, string, () => IssuedCertificate | undefined, string, (string | null)[]]>([
    [
      'allows the workload the policy names, and hands its identity to the socket handler',
      '/chat',
      () => chat,
      `message hello ${CHAT}`,
      [CHAT],
    ],
    [
      'denies another workload with 403 before the WebSocket server sees it',
      '/chat',
      () => reporting,
      '403 Forbidden',
      [],
    ],
    [
      'denies a client without a certificate with 401 (optional-certificate server)',
      '/chat',
      () => undefined,
      '401 Client certificate required',
      [],
    ],
    [
      'lets a client without a certificate upgrade on an allowAnonymous route',
      '/public-feed',
      () => undefined,
      'message hello anonymous',
      [null],
    ],
  ])('%s', async (_label, path, who, expected, peers) => {
    connected.length = 0;
    expect(await open(path, who())).toBe(expected);
    expect(connected).toEqual(peers);
  });

  it('audits the upgrade like a request', async () => {
    audit.length = 0;
    await open('/chat', undefined);
    expect(audit.map((event) => event.reason)).toEqual(['PEER_NO_CERTIFICATE', 'PEER_ANONYMOUS_DENIED']);
  });

  it('refuses a certificate that fails verification at the handshake, before any upgrade', async () => {
    const other = await createCertificateAuthority({ subject: 'CN=Upgrade Root' });
    connected.length = 0;
    expect(await open('/public-feed', await other.issueClient({ san: { uri: [CHAT] } }))).toBe('refused');
    expect(connected).toEqual([]);
  });
});

describe('when guardUpgrade is misconfigured', () => {
  it.each<[string, () => unknown, string]>([
    [
      'no app',
      () => guardUpgrade(undefined as never, { middleware: [() => {}], accept: () => {} }),
      'guardUpgrade.app',
    ],
    [
      'an empty middleware list',
      () => guardUpgrade(new Koa(), { middleware: [], accept: () => {} }),
      'guardUpgrade.middleware',
    ],
    ['no accept', () => guardUpgrade(new Koa(), { middleware: [() => {}] } as never), 'guardUpgrade.accept'],
    [
      'an unknown option',
      () => guardUpgrade(new Koa(), { middleware: [() => {}], accept: () => {}, policy: {} } as never),
      'guardUpgrade.policy',
    ],
  ])('throws InvalidOptionError for %s', (_label, build, path) => {
    let caught: unknown;
    try {
      build();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidOptionError);
    expect((caught as InvalidOptionError).path).toBe(path);
  });
});

describe('when a client would use HTTP/2 extended CONNECT (RFC 8441) for WebSockets', () => {
  it('is not offered: an mtlsOptions HTTP/2 server does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL', async () => {
    const http2 = await import('node:http2');
    const h2 = http2.createSecureServer(
      mtlsOptions({ key: serverCert.key, cert: serverCert.chain, ca: root.root, onWarning: () => {} }),
    );
    const session = http2.connect(`https://localhost:${await listen(h2)}`, {
      host: '127.0.0.1',
      ca: root.root,
      cert: chat.chain,
      key: chat.key,
    });
    const settings = await new Promise<{ enableConnectProtocol?: boolean }>((resolve) =>
      session.once('remoteSettings', resolve),
    );
    session.close();
    await close(h2);
    expect(settings.enableConnectProtocol).toBe(false);
  });
});
