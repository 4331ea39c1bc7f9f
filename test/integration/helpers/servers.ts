/**
 * Servers under test: a Koa app (200, body `ok`) behind `https.createServer` or `http2.createSecureServer` built with
 * `mtlsOptions`, recording what `onTlsClientRejected` reports and how many requests reached the app. Listens on
 * 127.0.0.1, port 0.
 */
import { createSecureServer } from 'node:http2';
import { createServer, type ServerOptions } from 'node:https';
import type { Server } from 'node:tls';
import Koa from 'koa';
import type { AuditEvent } from '../../../src/audit/event.js';
import { onTlsClientRejected } from '../../../src/tls/client-rejections.js';
import type { MtlsServerOptions } from '../../../src/tls/mtls-options.js';
import { close, listen } from '../../helpers/listen.js';

/** A listening server and what it saw. */
export interface RecordingServer {
  readonly port: number;
  /** Every `onTlsClientRejected` event, in order. */
  readonly events: AuditEvent[];
  /** Requests that reached the Koa app. */
  handled(): number;
  /** HTTP versions of the requests that reached the app (`1.1`, `2.0`). */
  readonly httpVersions: string[];
  close(): Promise<void>;
}

/** Which Node server to put the options into. */
export type ServerKind = 'https' | 'http2';

/** The Koa app behind every server: 200 `ok`, counting the requests it handles. */
function countingApp(httpVersions: string[]): Koa {
  const app = new Koa();
  app.use(function answerOk(ctx) {
    httpVersions.push(ctx.req.httpVersion);
    ctx.body = 'ok';
  });
  return app;
}

/** Starts a server of `kind` with `options` (from `mtlsOptions`) and records its rejections and requests. */
export async function startRecordingServer(kind: ServerKind, options: MtlsServerOptions): Promise<RecordingServer> {
  const httpVersions: string[] = [];
  const app = countingApp(httpVersions);
  const server: Server =
    kind === 'https' ? createServer(options, app.callback()) : createSecureServer(options, app.callback());
  const events: AuditEvent[] = [];
  onTlsClientRejected(server, (event) => events.push(event));
  const port = await listen(server);
  return { port, events, httpVersions, handled: () => httpVersions.length, close: () => close(server) };
}

/**
 * The control for the scanners: what a hand-written server looks like when `ca` is forgotten — client certificates
 * requested and required, but checked against Node's default root store.
 */
export async function startServerWithoutCa(
  options: Pick<ServerOptions, 'key' | 'cert'>,
): Promise<{ readonly port: number; close(): Promise<void> }> {
  const server = createServer({ ...options, requestCert: true, rejectUnauthorized: true }, (_req, res) => {
    res.end('ok');
  });
  const port = await listen(server);
  return { port, close: () => close(server) };
}
