/**
 * Verified server-side TLS sockets for in-process measurements: a loopback mTLS server (the package's strict
 * options) answers one request per client certificate on a keep-alive connection and keeps every connection open.
 */
import { Agent, createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { CertificateAuthority, IssuedCertificate } from '../../src/pki/index.js';
import { mtlsOptions } from '../../src/tls/index.js';

/** Open connections, and how to close them. */
export interface VerifiedSockets {
  /** One server-side socket per client certificate, in order, for each of the `sets` requested. */
  readonly sets: readonly (readonly TLSSocket[])[];
  close(): void;
}

/** `sets` connections per client certificate (each set a fresh connection from every client), all verified. */
export async function verifiedSockets(
  ca: CertificateAuthority,
  clients: readonly IssuedCertificate[],
  sets = 1,
): Promise<VerifiedSockets> {
  const serverPair = await ca.issueServer();
  const captured: TLSSocket[] = [];
  const server = createServer(
    mtlsOptions({ key: serverPair.key, cert: serverPair.chain, ca: ca.root, onWarning: () => {} }),
    (req, res) => {
      captured.push(req.socket as TLSSocket);
      res.end('ok');
    },
  );
  server.keepAliveTimeout = 600_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agents: Agent[] = [];
  const result: TLSSocket[][] = [];
  for (let set = 0; set < sets; set++) {
    const start = captured.length;
    for (const client of clients) {
      // One agent per connection: each request opens (and keeps) its own connection.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      await new Promise<void>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, servername: 'localhost', ca: ca.root, cert: client.chain, key: client.key, agent },
          (res) => res.resume().on('end', resolve),
        );
        req.on('error', reject);
        req.end();
      });
    }
    const sockets = captured.slice(start);
    if (sockets.length !== clients.length || sockets.some((socket) => socket.authorized !== true))
      throw new Error('not every connection was verified');
    result.push(sockets);
  }
  return {
    sets: result,
    close() {
      for (const agent of agents) agent.destroy();
      server.close();
    },
  };
}
