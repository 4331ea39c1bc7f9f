/**
 * Load generator for keep-alive throughput (a separate process): `connections` persistent TLS connections with the
 * client certificate, one request in flight per connection, for `seconds`. Prints `{ requests, errors, seconds,
 * cpuMicrosPerRequest, apps }` (`apps`: each app's share, for an interleaved server).
 *
 * Usage: tsx bench/harness/keep-alive-load.ts <fixtures.json> <port> <path> <seconds> <connections> [warmup seconds]
 */
import { Pool } from 'undici';
import { readFixtures } from './fixtures.js';
import { Measurement } from './measurement.js';
import { appResults, cpuPerRequest, readCpu } from './server-cpu.js';

const [fixturesPath, portText, path, secondsText, connectionsText, warmupText] = process.argv.slice(2);
const fixtures = readFixtures(fixturesPath as string);
const seconds = Number(secondsText);
const connections = Number(connectionsText);
const pool = new Pool(`https://localhost:${portText}`, {
  connections,
  pipelining: 1,
  connect: {
    ca: fixtures.ca,
    cert: fixtures.client.cert,
    key: fixtures.client.key,
    servername: 'localhost',
    host: '127.0.0.1',
  },
});

const measurement = new Measurement(Number(warmupText ?? 0), seconds);
// The server's CPU counters when the measured window opens (after the warm-up), read once more at the end.
const cpuStart = new Promise<Awaited<ReturnType<typeof readCpu>>>((resolve, reject) => {
  setTimeout(() => readCpu(fixtures, Number(portText)).then(resolve, reject), measurement.warmupLeftMs);
});

async function worker(): Promise<void> {
  while (measurement.running) {
    try {
      const response = await pool.request({ path: path as string, method: 'GET' });
      await response.body.arrayBuffer();
      measurement.record(response.statusCode === 200);
    } catch {
      measurement.record(false);
    }
  }
}

await Promise.all(Array.from({ length: connections }, worker));
await pool.close();
const cpuEnd = await readCpu(fixtures, Number(portText));
const cpuMicrosPerRequest = cpuPerRequest(await cpuStart, cpuEnd);
const apps = appResults(await cpuStart, cpuEnd);
process.stdout.write(`${JSON.stringify({ ...measurement.result(), cpuMicrosPerRequest, apps })}\n`);
