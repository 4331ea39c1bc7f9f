/**
 * The server's CPU time per request over a load generator's measured window, read from the bench server's
 * `GET /__cpu` (see server.ts) at the end of the warm-up and at the end of the run; for an interleaved server, also
 * each app's.
 */
import { request } from 'node:https';
import type { BenchFixtures } from './fixtures.js';

/** One app's counters in an interleaved server: CPU time, requests and time while it was the active one. */
export interface AppCounters {
  readonly variant: string;
  readonly cpuMicros: number;
  readonly served: number;
  readonly activeMs: number;
}

/** One reading of the server's counters. */
export interface CpuMark {
  readonly cpuMicros: number;
  readonly served: number;
  readonly apps: readonly AppCounters[];
}

/** One app's share of a measured window. */
export interface AppResult {
  readonly variant: string;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly cpuMicrosPerRequest: number | undefined;
}

/** Reads `/__cpu` over a fresh TLS connection with the fixtures' client certificate. */
export function readCpu(fixtures: BenchFixtures, port: number): Promise<CpuMark> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/__cpu',
        servername: 'localhost',
        ca: fixtures.ca,
        cert: fixtures.client.cert,
        key: fixtures.client.key,
        agent: false,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve(JSON.parse(body) as CpuMark));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Server CPU microseconds per request between two marks (`undefined` without requests). */
export function cpuPerRequest(start: CpuMark, end: CpuMark): number | undefined {
  const requests = end.served - start.served;
  return requests > 0 ? (end.cpuMicros - start.cpuMicros) / requests : undefined;
}

/** Each app's requests per second of its active time and CPU time per request, between two marks. */
export function appResults(start: CpuMark, end: CpuMark): AppResult[] {
  return end.apps.map((app, i) => {
    const before = start.apps[i] as AppCounters;
    const requests = app.served - before.served;
    const seconds = (app.activeMs - before.activeMs) / 1000;
    return {
      variant: app.variant,
      requests,
      requestsPerSecond: seconds > 0 ? requests / seconds : 0,
      cpuMicrosPerRequest: requests > 0 ? (app.cpuMicros - before.cpuMicros) / requests : undefined,
    };
  });
}
