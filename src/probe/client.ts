/**
 * The probe's only way out: HTTPS requests with a client certificate to the one origin it was given. Redirects are
 * reported, never followed; bodies are read up to a cap; every request has a timeout.
 *
 * @module probe/client
 */
import { Agent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';

/** The client certificate, key and trust anchors, as PEM text. */
export interface ClientCredentials {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** A response as the probe sees it. */
export interface ProbeResponse {
  readonly status: number;
  readonly location: string | undefined;
  readonly body: string;
}

/** Sends one request (method, encoded path and query, headers) to the origin. */
export type SendRequest = (
  method: string,
  path: string,
  headers: Readonly<Record<string, string>>,
) => Promise<ProbeResponse>;

/** Limits of one request. */
export interface ClientLimits {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

/** Parses and checks a probe origin: `https:`, a host, and nothing after it (no path, query, fragment or userinfo). */
export function parseOrigin(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`"${text}" is not a URL (expected https://host[:port])`);
  }
  if (url.protocol !== 'https:') throw new TypeError(`"${text}" must be an https:// origin (mutual TLS)`);
  if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new TypeError(`"${text}" must be an origin only: https://host[:port], no path, query or credentials`);
  }
  return url;
}

/** True for `localhost` and loopback addresses: the service then runs on the probing machine. */
export function isLoopbackOrigin(origin: URL): boolean {
  const host = origin.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * A sender bound to `origin`: the host, port and TLS settings come from the origin and never from a response, and a
 * path that does not start with `/` (an absolute URL, `//host`) is refused, so no request can leave the origin.
 */
export function createSender(
  origin: URL,
  credentials: ClientCredentials,
  limits: ClientLimits,
): {
  send: SendRequest;
  close(): void;
} {
  const host = origin.hostname.replace(/^\[|\]$/g, '');
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 1,
    cert: credentials.cert,
    key: credentials.key,
    ca: credentials.ca,
    // RFC 6066 §3: no server_name for an IP literal.
    ...(isIP(host) === 0 ? { servername: host } : {}),
  });
  const port = origin.port === '' ? 443 : Number(origin.port);
  const send: SendRequest = (method, path, headers) => {
    if (!path.startsWith('/') || path.startsWith('//')) {
      return Promise.reject(new Error(`refused to send "${path}": not a path on ${origin.origin}`));
    }
    return new Promise((resolve, reject) => {
      const outgoing = httpsRequest(
        { host, port, method, path, agent, headers: { ...headers, host: origin.host, 'user-agent': 'koa-mtls-probe' } },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            if (size >= limits.maxBodyBytes) return;
            chunks.push(chunk.subarray(0, limits.maxBodyBytes - size));
            size += chunk.length;
          });
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              location: response.headers.location,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
        },
      );
      outgoing.setTimeout(limits.timeoutMs, () =>
        outgoing.destroy(new Error(`timed out after ${limits.timeoutMs} ms`)),
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
  };
  return { send, close: () => agent.destroy() };
}
