/**
 * Load generator for new connections (a separate process): every request is a fresh TLS handshake (no session
 * resumption) with the next of the first 1,000 distinct client certificates, `Connection: close`. Prints
 * `{ requests, errors, seconds }`.
 *
 * Usage: tsx bench/harness/handshake-load.ts <fixtures.json> <port> <path> <seconds> <concurrency>
 */
import { connect, createSecureContext, type SecureContext } from 'node:tls';
import { readFixtures } from './fixtures.js';

const [fixturesPath, portText, path, secondsText, concurrencyText] = process.argv.slice(2);
const fixtures = readFixtures(fixturesPath as string);
const port = Number(portText);
const seconds = Number(secondsText);
const concurrency = Number(concurrencyText);
const contexts: SecureContext[] = fixtures.clients
  .slice(0, 1000)
  .map((client) => createSecureContext({ ca: fixtures.ca, cert: client.cert, key: client.key }));
const request = `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;

let requests = 0;
let errors = 0;
let next = 0;
const deadline = performance.now() + seconds * 1000;

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
      if (response.startsWith('HTTP/1.1 200')) requests++;
      else errors++;
      resolve();
    });
  });
}

async function worker(): Promise<void> {
  while (performance.now() < deadline) await once();
}

const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const elapsed = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ requests, errors, seconds: elapsed })}\n`);
