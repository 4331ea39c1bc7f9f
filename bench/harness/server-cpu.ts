/**
 * The server's CPU time per request over a load generator's measured window, read from the bench server's
 * `GET /__cpu` (see server.ts) at the end of the warm-up and at the end of the run.
 */
import { request } from 'node:https';
import type { BenchFixtures } from './fixtures.js';

/** One reading of the server's counters. */
export interface CpuMark {
  readonly cpuMicros: number;
  readonly served: number;
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
