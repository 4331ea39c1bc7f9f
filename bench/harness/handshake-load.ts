/**
 * Load generator for new connections (a separate process): every request is a fresh TLS handshake (no session
 * resumption) with the next of the first `clients` (default 1,000) distinct client certificates, `Connection:
 * close`. Before the warm-up it connects once with every one of those certificates (to each app of an interleaved
 * server), so the measured window sees only certificates the server has seen before (what a service sees from its
 * fleet; a variant whose cache cannot hold them all, or has none, still pays the first-seen cost, which is how that
 * cost is measured). Prints `{ requests, errors, seconds, cpuMicrosPerRequest, apps }` (`apps`: each app's share,
 * for an interleaved server).
 *
 * Usage: tsx bench/harness/handshake-load.ts <fixtures.json> <port> <path> <seconds> <concurrency> [warmup seconds]
 *        [clients]
 */
import { connect, createSecureContext, type SecureContext } from 'node:tls';
import { readFixtures } from './fixtures.js';
import { Measurement } from './measurement.js';
import { appResults, cpuPerRequest, readCpu } from './server-cpu.js';

const [fixturesPath, portText, path, secondsText, concurrencyText, warmupText, clientsText] = process.argv.slice(2);
const fixtures = readFixtures(fixturesPath as string);
const port = Number(portText);
const seconds = Number(secondsText);
const concurrency = Number(concurrencyText);
const contexts: SecureContext[] = fixtures.clients
  .slice(0, Number(clientsText ?? 1000))
  .map((client) => createSecureContext({ ca: fixtures.ca, cert: client.cert, key: client.key }));
const requestFor = (target: string) => `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;
const request = requestFor(path as string);

/** One request on a fresh connection with `secureContext`; resolves with whether it got a 200. */
function handshake(secureContext: SecureContext, text = request): Promise<boolean> {
  return new Promise((resolve) => {
    let response = '';
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', secureContext }, () => {
      socket.write(text);
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      response += chunk;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(response.startsWith('HTTP/1.1 200')));
  });
}

// Priming: every certificate once per app of the server (an interleaved one has several), `concurrency` at a time,
// before the warm-up and the measured window.
const { apps: served } = await readCpu(fixtures, port);
for (let app = 0; app < served.length; app++) {
  const primer = requestFor(`/__app/${app}${path}`);
  let primed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let index = primed++; index < contexts.length; index = primed++) {
        if (!(await handshake(contexts[index] as SecureContext, primer))) throw new Error(`priming app ${app} failed`);
      }
    }),
  );
}

const measurement = new Measurement(Number(warmupText ?? 0), seconds);
// The server's CPU counters when the measured window opens (after the warm-up), read once more at the end.
const cpuStart = new Promise<Awaited<ReturnType<typeof readCpu>>>((resolve, reject) => {
  setTimeout(() => readCpu(fixtures, Number(portText)).then(resolve, reject), measurement.warmupLeftMs);
});
let next = 0;

async function once(): Promise<void> {
  measurement.record(await handshake(contexts[next++ % contexts.length] as SecureContext));
}

async function worker(): Promise<void> {
  while (measurement.running) await once();
}

await Promise.all(Array.from({ length: concurrency }, worker));
const cpuEnd = await readCpu(fixtures, Number(portText));
const cpuMicrosPerRequest = cpuPerRequest(await cpuStart, cpuEnd);
const apps = appResults(await cpuStart, cpuEnd);
process.stdout.write(`${JSON.stringify({ ...measurement.result(), cpuMicrosPerRequest, apps })}\n`);
