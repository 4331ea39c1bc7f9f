/**
 * A benchmark server process: one variant on 127.0.0.1, ephemeral port, printed as `{"port":N}` on stdout; `GET /__cpu`
 * reports its CPU time and request count.
 *
 * Usage: tsx bench/harness/server.ts <variant> <fixtures.json> [exit after N requests]
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mtlsOptions } from '../../src/tls/index.js';
import { readFixtures } from './fixtures.js';
import { variantByName } from './variants.js';

const [variant, fixturesPath, exitAfterText] = process.argv.slice(2);
// For instruction counts (bench/request-instructions.ts): the process ends after this many requests.
const exitAfter = exitAfterText === undefined ? Number.POSITIVE_INFINITY : Number(exitAfterText);
const fixtures = readFixtures(fixturesPath as string);
const factory = variantByName(variant as string);
if (factory === undefined) throw new Error(`unknown variant ${variant}`);
const app = await factory(fixtures);
// Every variant behind the same strict options; warnings (e.g. an end-of-life Node) do not concern a benchmark.
const options = mtlsOptions({
  key: fixtures.server.key,
  cert: fixtures.server.cert,
  ca: fixtures.ca,
  onWarning: () => {},
});
const handler = app.callback();
let served = 0;
// `GET /__cpu`: the server's CPU time (user + system, µs) and requests served so far, so a load generator can take
// the CPU cost per request of its measured window. Every variant has the same wrapper, so ratios stay fair.
const server = createServer(options, (request, response) => {
  if (request.url === '/__cpu') {
    const { user, system } = process.cpuUsage();
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ cpuMicros: user + system, served }));
    return;
  }
  served++;
  // After the last response the client closes the connection; exiting earlier could reset it mid-read.
  if (served >= exitAfter) request.socket.once('close', () => process.exit(0));
  void handler(request, response);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
