/**
 * Load generator for keep-alive throughput (a separate process): `connections` persistent TLS connections with the
 * client certificate, one request in flight per connection, for `seconds`. Prints `{ requests, errors, seconds }`.
 *
 * Usage: tsx bench/harness/keep-alive-load.ts <fixtures.json> <port> <path> <seconds> <connections>
 */
import { Pool } from 'undici';
import { readFixtures } from './fixtures.js';

const [fixturesPath, portText, path, secondsText, connectionsText] = process.argv.slice(2);
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

let requests = 0;
let errors = 0;
const deadline = performance.now() + seconds * 1000;

async function worker(): Promise<void> {
  while (performance.now() < deadline) {
    try {
      const response = await pool.request({ path: path as string, method: 'GET' });
      await response.body.arrayBuffer();
      if (response.statusCode === 200) requests++;
      else errors++;
    } catch {
      errors++;
    }
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: connections }, worker));
const elapsed = (performance.now() - started) / 1000;
await pool.close();
process.stdout.write(`${JSON.stringify({ requests, errors, seconds: elapsed })}\n`);
