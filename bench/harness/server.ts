/**
 * A benchmark server process on 127.0.0.1, ephemeral port, printed as `{"port":N}` on stdout.
 *
 * With one variant it serves that app. With several (`bare,peer-authz-100`) it serves them **interleaved**: the
 * active app changes every `--window-ms` (default 100), round-robin, and each app's CPU time, requests and active
 * time are counted apart. A window must be long against the work in flight at a switch (charged to the next app):
 * 100 ms against 16 keep-alive requests of ~50 µs, but a second against 16 handshakes of a few milliseconds. On a machine whose speed swings by several times within seconds (a shared VM), two variants
 * measured in separate runs are compared under different conditions; interleaved at 100 ms in one process, both see
 * the same ones, so their ratio holds where separate runs give noise.
 *
 * `GET /__cpu` reports the counters; `GET /__stats`, RSS, heap and external memory after a forced GC (run with
 * `--expose-gc`) and open descriptors; `/__app/<i>/<path>` sends one request to app `i` whatever the window (for
 * priming every app's caches with the same certificates).
 *
 * Usage: tsx bench/harness/server.ts <variant>[,<variant>…] <fixtures.json> [--window-ms N] [--exit-after N]
 */
import { readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { mtlsOptions } from '../../src/tls/index.js';
import { readFixtures } from './fixtures.js';
import type { AppCounters } from './server-cpu.js';
import { variantByName } from './variants.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { 'exit-after': { type: 'string' }, 'window-ms': { type: 'string' } },
});
const [variantList, fixturesPath] = positionals;
// For instruction counts (bench/request-instructions.ts): the process ends after this many requests.
const exitAfter = Number(values['exit-after'] ?? Number.POSITIVE_INFINITY);
const windowMs = Number(values['window-ms'] ?? 100);
const fixtures = readFixtures(fixturesPath as string);

interface ServedApp {
  readonly counters: { variant: string; cpuMicros: number; served: number; activeMs: number };
  readonly handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>;
}

const apps: ServedApp[] = [];
for (const variant of (variantList as string).split(',')) {
  const factory = variantByName(variant);
  if (factory === undefined) throw new Error(`unknown variant ${variant}`);
  apps.push({
    counters: { variant, cpuMicros: 0, served: 0, activeMs: 0 },
    handle: (await factory(fixtures)).callback(),
  });
}

const cpuNow = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
let active = 0;
let windowCpu = cpuNow();
let windowStart = performance.now();

/** Charges the CPU and time since the window opened to the active app, and opens a new window. */
function closeWindow(): void {
  const cpu = cpuNow();
  const now = performance.now();
  const counters = (apps[active] as ServedApp).counters;
  counters.cpuMicros += cpu - windowCpu;
  counters.activeMs += now - windowStart;
  windowCpu = cpu;
  windowStart = now;
}

if (apps.length > 1) {
  setInterval(() => {
    closeWindow();
    active = (active + 1) % apps.length;
  }, windowMs).unref();
}

// Every variant behind the same strict options; warnings (e.g. an end-of-life Node) do not concern a benchmark.
const options = mtlsOptions({
  key: fixtures.server.key,
  cert: fixtures.server.cert,
  ca: fixtures.ca,
  onWarning: () => {},
});
/** Memory after a forced GC, for the memory benchmark. */
function memoryStats(): Record<string, number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('GET /__stats needs node --expose-gc');
  gc();
  gc();
  const { rss, heapUsed, external } = process.memoryUsage();
  const mib = (bytes: number) => bytes / 2 ** 20;
  return {
    rssMiB: mib(rss),
    heapUsedMiB: mib(heapUsed),
    externalMiB: mib(external),
    fds: readdirSync('/proc/self/fd').length,
  };
}

let served = 0;
const server = createServer(options, (request, response) => {
  if (request.url === '/__stats') {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(memoryStats()));
    return;
  }
  if (request.url === '/__cpu') {
    closeWindow();
    const counters: AppCounters[] = apps.map((app) => ({ ...app.counters }));
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ cpuMicros: cpuNow(), served, apps: counters }));
    return;
  }
  served++;
  // After the last response the client closes the connection; exiting earlier could reset it mid-read.
  if (served >= exitAfter) request.socket.once('close', () => process.exit(0));
  const pinned = /^\/__app\/(\d+)(\/.*)$/.exec(request.url ?? '');
  if (pinned !== null) {
    request.url = pinned[2] as string;
    void (apps[Number(pinned[1])] as ServedApp).handle(request, response);
    return;
  }
  const app = apps[active] as ServedApp;
  app.counters.served++;
  void app.handle(request, response);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
