/** One HTTPS request with Node's client to 127.0.0.1, with or without a client certificate; bounded, never rejects. */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { type Agent, request } from 'node:https';
import type { SecureVersion, TLSSocket } from 'node:tls';

/** What to send. */
export interface HttpsCall {
  readonly port: number;
  /** The roots the client trusts for the server. */
  readonly ca: string;
  /** The client certificate (chain) and key, or none. */
  readonly cert?: string;
  readonly key?: string;
  readonly path?: string;
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string;
  /** SNI; default `localhost`. `false` sends none (as a client that dials an IP address does). */
  readonly servername?: string | false;
  readonly maxVersion?: SecureVersion;
  /** A keep-alive agent; default none, a new connection per request. */
  readonly agent?: Agent;
  /** Default 5 000. */
  readonly timeoutMs?: number;
}

/** What came back: `status` 0 and `error` (the error code, or message) when no response came. */
export interface HttpsAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly error?: string;
  /** Whether the request went over a kept-alive connection opened before it. */
  readonly reused: boolean;
  /** The server certificate's SHA-256 fingerprint, in Node's format (colon-separated upper-case hex). */
  readonly serverFingerprint256?: string;
}

/** An error's `code` (`ECONNRESET`, `ERR_SSL_…`) when it has one, else its message. */
export function errorText(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}

/** Sends `call` and resolves with the answer, or with status 0 and the error when the TLS or HTTP exchange failed. */
export function httpsRequest(call: HttpsCall): Promise<HttpsAnswer> {
  const failed = (error: unknown): HttpsAnswer => ({
    status: 0,
    headers: {},
    body: '',
    error: errorText(error),
    reused: false,
  });
  return new Promise((done) => {
    try {
      const req = request(
        {
          host: '127.0.0.1',
          port: call.port,
          path: call.path ?? '/',
          method: call.method ?? 'GET',
          headers: call.headers ?? {},
          ca: call.ca,
          ...(call.servername === false ? {} : { servername: call.servername ?? 'localhost' }),
          ...(call.cert === undefined ? {} : { cert: call.cert }),
          ...(call.key === undefined ? {} : { key: call.key }),
          ...(call.maxVersion === undefined ? {} : { maxVersion: call.maxVersion }),
          agent: call.agent ?? false,
          timeout: call.timeoutMs ?? 5000,
        },
        (res) => {
          const serverFingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('error', (error) => done(failed(error)));
          res.on('end', () =>
            done({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body,
              reused: req.reusedSocket,
              ...(serverFingerprint256 === undefined ? {} : { serverFingerprint256 }),
            }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('client timeout')));
      req.on('error', (error) => done(failed(error)));
      req.end(call.body);
    } catch (error) {
      // Node's client refuses to load some certificates and keys (too weak, mismatched) synchronously
      done(failed(error));
    }
  });
}

/** {@link httpsRequest} narrowed to what most assertions compare; rejects with the error when no response came. */
export async function httpsGet(call: HttpsCall): Promise<{ status: number; body: string }> {
  const { status, body, error } = await httpsRequest(call);
  if (error !== undefined) throw new Error(`no response from 127.0.0.1:${call.port}${call.path ?? '/'}: ${error}`);
  return { status, body };
}
