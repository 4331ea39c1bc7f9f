/**
 * Load generator for new connections (a separate process): every request is a fresh TLS handshake (no session
 * resumption) with the next of the first 1,000 distinct client certificates, `Connection: close`. Prints
 * `{ requests, errors, seconds }`.
 *
 * Usage: tsx bench/harness/handshake-load.ts <fixtures.json> <port> <path> <seconds> <concurrency> [warmup seconds]
 */
import { connect, createSecureContext, type SecureContext } from 'node:tls';
import { readFixtures } from './fixtures.js';
import { Measurement } from './measurement.js';

const [fixturesPath, portText, path, secondsText, concurrencyText, warmupText] = process.argv.slice(2);
const fixtures = readFixtures(fixturesPath as string);
const port = Number(portText);
const seconds = Number(secondsText);
const concurrency = Number(concurrencyText);
const contexts: SecureContext[] = fixtures.clients
  .slice(0, 1000)
  .map((client) => createSecureContext({ ca: fixtures.ca, cert: client.cert, key: client.key }));
const request = `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;

const measurement = new Measurement(Number(warmupText ?? 0), seconds);
let next = 0;

function once(): Promise<void> {
  const secureContext = contexts[next++ % contexts.length] as SecureContext;
  return new Promise((resolve) => {
    let response = '';
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', secureContext }, () => {
      socket.write(request);
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      response += chunk;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      measurement.record(response.startsWith('HTTP/1.1 200'));
      resolve();
    });
  });
}

async function worker(): Promise<void> {
  while (measurement.running) await once();
}

await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(`${JSON.stringify(measurement.result())}\n`);
