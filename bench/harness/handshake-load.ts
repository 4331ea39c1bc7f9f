/**
 * Load generator for new connections (a separate process): every request is a fresh TLS handshake (no session
 * resumption) with the next of the first `clients` (default 1,000) distinct client certificates, `Connection:
 * close`. Before the first warm-up it connects once with every one of those certificates to each app of an
 * interleaved server but the first (the baseline, which keeps no per-certificate state), so the measured windows see
 * only certificates the server has seen before (what a service sees from its fleet; a variant whose cache cannot hold
 * them all, or has none, still pays the first-seen cost, which is how that cost is measured). Then `windows` (default
 * 1) times a warm-up and a measured window. Prints a JSON array with one `{ requests, errors, seconds,
 * cpuMicrosPerRequest, apps }` per window (`apps`: each app's share, for an interleaved server).
 *
 * Usage: tsx bench/harness/handshake-load.ts <fixtures.json> <port> <path> <seconds> <concurrency> [warmup seconds]
 *        [clients] [windows]
 */
import { connect, createSecureContext, type SecureContext } from 'node:tls';
import { readClients, readFixtures } from './fixtures.js';
import { Measurement } from './measurement.js';
import { appResults, cpuPerRequest, readCpu } from './server-cpu.js';

const [fixturesPath, portText, path, secondsText, concurrencyText, warmupText, clientsText, windowsText] =
  process.argv.slice(2);
const fixtures = readFixtures(fixturesPath as string);
const port = Number(portText);
const seconds = Number(secondsText);
const concurrency = Number(concurrencyText);
const contexts: SecureContext[] = readClients(fixtures)
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

// Priming: every certificate once per app of the server but the baseline (an interleaved server's first app),
// `concurrency` at a time, before the warm-up and the measured window.
const { apps: served } = await readCpu(fixtures, port);
for (let app = served.length > 1 ? 1 : 0; app < served.length; app++) {
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

let next = 0;

/** One warm-up and measured window; the server's CPU counters are read when the window opens and when it ends. */
async function measureWindow(): Promise<unknown> {
  const measurement = new Measurement(Number(warmupText ?? 0), seconds);
  const cpuStart = new Promise<Awaited<ReturnType<typeof readCpu>>>((resolve, reject) => {
    setTimeout(() => readCpu(fixtures, port).then(resolve, reject), measurement.warmupLeftMs);
  });
  const worker = async (): Promise<void> => {
    while (measurement.running) {
      measurement.record(await handshake(contexts[next++ % contexts.length] as SecureContext));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpuEnd = await readCpu(fixtures, port);
  const cpuMicrosPerRequest = cpuPerRequest(await cpuStart, cpuEnd);
  return { ...measurement.result(), cpuMicrosPerRequest, apps: appResults(await cpuStart, cpuEnd) };
}

const results: unknown[] = [];
for (let window = 0; window < Number(windowsText ?? 1); window++) results.push(await measureWindow());
process.stdout.write(`${JSON.stringify(results)}\n`);
