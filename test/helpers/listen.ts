/** Servers under test (plain HTTP, HTTPS, HTTP/2, raw TLS) listening on 127.0.0.1 with an ephemeral port. */
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

const openSockets = new WeakMap<Server, Set<Socket>>();

/** Listens on 127.0.0.1, port 0, and returns the port; {@link close} later ends the connections it still has. */
export async function listen(server: Server): Promise<number> {
  const sockets = new Set<Socket>();
  openSockets.set(server, sockets);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Closes a server and every connection it still has (keep-alive, HTTP/2 sessions, upgraded sockets). */
export async function close(server: Server): Promise<void> {
  for (const socket of openSockets.get(server) ?? []) socket.destroy();
  await new Promise<void>((done) => server.close(() => done()));
}

/** A port that was free on 127.0.0.1 a moment ago, for a program that must be told its port before it listens. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await close(probe);
  return port;
}

/** {@link listen}, with the matching {@link close} added to `closers` (what the suite runs after its tests). */
export async function listenForSuite(server: Server, closers: (() => Promise<unknown>)[]): Promise<number> {
  const port = await listen(server);
  closers.push(() => close(server));
  return port;
}
