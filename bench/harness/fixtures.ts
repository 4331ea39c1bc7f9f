/**
 * The benchmark's PKI, made once per run and written to JSON files that the server and load processes read: the
 * fixtures, and beside them the distinct client certificates (up to 100,000: only the load generators read those, so
 * a server's heap does not hold them).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createCertificateAuthority } from '../../src/pki/index.js';
import { copyCertificate } from './certificate-copies.js';

/** Clients issued one by one (each with its own key); the rest are copies of these (see certificate-copies.ts). */
const issuedClients = 1000;

/** A certificate and key, PEM. */
export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

/** Everything a benchmark process needs. */
export interface BenchFixtures {
  readonly ca: string;
  readonly server: KeyPair;
  /** Allowed by the benchmark policy (SPIFFE ID `spiffe://bench.test/ns/prod/sa/client-0`). */
  readonly client: KeyPair;
  /** The JSON file of the distinct client certificates (see {@link readClients}). */
  readonly clientsPath: string;
  /** Directory holding `file-1k.bin` (1 KiB) and `file-1m.bin` (1 MiB) for the file-serving variants. */
  readonly fileRoot: string;
}

/** Makes the PKI and `distinctClients` client certificates; writes them to `path` and `<path>.clients.json`. */
export async function makeFixtures(path: string, fileRoot: string, distinctClients: number): Promise<BenchFixtures> {
  const ca = await createCertificateAuthority({ subject: 'CN=bench root,O=koa-mtls bench' });
  const server = await ca.issueServer();
  const issue = async (i: number): Promise<KeyPair> => {
    const issued = await ca.issueClient({
      subject: `CN=client-${i},OU=prod,O=koa-mtls bench`,
      san: { uri: [`spiffe://bench.test/ns/prod/sa/client-${i}`], dns: [`client-${i}.prod.bench.test`] },
    });
    return { cert: issued.chain, key: issued.key };
  };
  const clients: KeyPair[] = [];
  // One genuine template per number of digits (client-1000, client-10000, …), whose copies differ in the digits.
  const templates = new Map<number, KeyPair>();
  for (let i = 0; i < Math.max(1, distinctClients); i++) {
    if (i < issuedClients) {
      clients.push(await issue(i));
      continue;
    }
    const digits = String(i).length;
    let template = templates.get(digits);
    if (template === undefined) {
      template = await issue(10 ** (digits - 1));
      templates.set(digits, template);
    }
    const from = `client-${10 ** (digits - 1)}`;
    clients.push({ cert: copyCertificate(template.cert, from, `client-${i}`, ca.key), key: template.key });
  }
  const fixtures: BenchFixtures = {
    ca: ca.root,
    server: { cert: server.chain, key: server.key },
    client: clients[0] as KeyPair,
    clientsPath: `${path}.clients.json`,
    fileRoot,
  };
  writeFileSync(fixtures.clientsPath, JSON.stringify(clients));
  writeFileSync(path, JSON.stringify(fixtures));
  return fixtures;
}

/** Reads fixtures written by {@link makeFixtures}. */
export function readFixtures(path: string): BenchFixtures {
  return JSON.parse(readFileSync(path, 'utf8')) as BenchFixtures;
}

/** The distinct client certificates of `fixtures`, all allowed by the benchmark policy. */
export function readClients(fixtures: BenchFixtures): KeyPair[] {
  return JSON.parse(readFileSync(fixtures.clientsPath, 'utf8')) as KeyPair[];
}
