/**
 * Memory under many distinct clients (a separate process): one TLS connection per client certificate (the first
 * `clients` of them), `perClient`
 * keep-alive requests on it, `concurrency` clients at a time. Reads the server's `/__stats` (RSS and heap after a
 * forced GC, open descriptors) before and after. Prints `{ requests, errors, clients, before, after }`.
 *
 * Usage: tsx bench/harness/memory-load.ts <fixtures.json> <port> <perClient> <concurrency> <clients>
 */
import { Agent, request } from 'undici';
import { readClients, readFixtures } from './fixtures.js';

const [fixturesPath, portText, perClientText, concurrencyText, clientsText] = process.argv.slice(2);
const fixtures = readFixtures(fixturesPath as string);
const clients = readClients(fixtures).slice(0, Number(clientsText));
const origin = `https://localhost:${portText}`;
const perClient = Number(perClientText);
const concurrency = Number(concurrencyText);

function agentFor(index: number): Agent {
  const client = clients[index] ?? fixtures.client;
  return new Agent({
    connections: 1,
    pipelining: 1,
    connect: { ca: fixtures.ca, cert: client.cert, key: client.key, servername: 'localhost', host: '127.0.0.1' },
  });
}

async function stats(): Promise<unknown> {
  const agent = agentFor(0);
  const response = await request(`${origin}/__stats`, { dispatcher: agent });
  const body = await response.body.json();
  await agent.close();
  return body;
}

let requests = 0;
let errors = 0;
let next = 0;

async function worker(): Promise<void> {
  while (next < clients.length) {
    const agent = agentFor(next++);
    for (let i = 0; i < perClient; i++) {
      try {
        const response = await request(`${origin}/`, { dispatcher: agent });
        await response.body.arrayBuffer();
        if (response.statusCode === 200) requests++;
        else errors++;
      } catch {
        errors++;
      }
    }
    await agent.close();
  }
}

const before = await stats();
await Promise.all(Array.from({ length: concurrency }, worker));
const after = await stats();
process.stdout.write(`${JSON.stringify({ requests, errors, clients: clients.length, before, after })}\n`);
