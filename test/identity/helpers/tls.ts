/**
 * Real TLS servers and clients for identity tests: servers on 127.0.0.1 port 0, clients with Node's https/http2.
 */
import type { Server } from 'node:http';
import http2 from 'node:http2';
import type https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { httpsGet } from '../../helpers/https-client.js';

/** Counts the server sockets' certificate reads: `leaf` (the leaf alone) and `chain` (`getPeerCertificate(true)`). */
export function countPeerCertificateCalls(server: Server | http2.Http2SecureServer): {
  calls: number;
  leaf: number;
  chain: number;
} {
  const counter = { calls: 0, leaf: 0, chain: 0 };
  server.on('secureConnection', (socket: TLSSocket) => {
    for (const method of ['getPeerCertificate', 'getPeerX509Certificate'] as const) {
      const original = socket[method].bind(socket) as (...args: unknown[]) => unknown;
      Object.defineProperty(socket, method, {
        value: (...args: unknown[]) => {
          counter.calls += 1;
          if (args[0] === true) counter.chain += 1;
          else counter.leaf += 1;
          return original(...args);
        },
      });
    }
  });
  return counter;
}

export interface ClientCredentials {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One HTTPS/1.1 GET ({@link httpsGet}). Pass an agent to reuse a keep-alive connection. */
export function get(
  port: number,
  credentials: ClientCredentials,
  agent?: https.Agent,
  path = '/',
  headers: Readonly<Record<string, string>> = {},
): Promise<Answer> {
  return httpsGet({ port, ...credentials, path, headers, ...(agent === undefined ? {} : { agent }) });
}

/** An HTTP/2 session; `get` sends one request stream on it. */
export async function http2Session(port: number, credentials: ClientCredentials) {
  const session = http2.connect(`https://localhost:${port}`, {
    ...credentials,
    host: '127.0.0.1',
    servername: 'localhost',
  });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return {
    get(path = '/', headers: Readonly<Record<string, string>> = {}): Promise<Answer> {
      return new Promise((resolve, reject) => {
        const stream = session.request({ ':path': path, ...headers });
        let status = 0;
        let body = '';
        stream.setEncoding('utf8');
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
        });
        stream.on('data', (chunk: string) => {
          body += chunk;
        });
        stream.on('end', () => resolve({ status, body }));
        stream.on('error', reject);
        stream.end();
      });
    },
    close: () => new Promise<void>((resolve) => session.close(() => resolve())),
  };
}
