/**
 * The benchmark's PKI, made once per run and written to a JSON file that the server and load processes read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createCertificateAuthority } from '../../src/pki/index.js';

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
  /** Distinct client certificates for the new-connection benchmark, all allowed by the policy. */
  readonly clients: readonly KeyPair[];
  /** Directory holding `file-1k.bin` (1 KiB) and `file-1m.bin` (1 MiB) for the file-serving variants. */
  readonly fileRoot: string;
}

/** Makes the PKI (and `distinctClients` client certificates) and writes it to `path`. */
export async function makeFixtures(path: string, fileRoot: string, distinctClients: number): Promise<BenchFixtures> {
  const ca = await createCertificateAuthority({ subject: 'CN=bench root,O=koa-mtls bench' });
  const server = await ca.issueServer();
  const clients: KeyPair[] = [];
  for (let i = 0; i < Math.max(1, distinctClients); i++) {
    const issued = await ca.issueClient({
      subject: `CN=client-${i},OU=prod,O=koa-mtls bench`,
      san: { uri: [`spiffe://bench.test/ns/prod/sa/client-${i}`], dns: [`client-${i}.prod.bench.test`] },
    });
    clients.push({ cert: issued.chain, key: issued.key });
  }
  const fixtures: BenchFixtures = {
    ca: ca.root,
    server: { cert: server.chain, key: server.key },
    client: clients[0] as KeyPair,
    clients,
    fileRoot,
  };
  writeFileSync(path, JSON.stringify(fixtures));
  return fixtures;
}

/** Reads fixtures written by {@link makeFixtures}. */
export function readFixtures(path: string): BenchFixtures {
  return JSON.parse(readFileSync(path, 'utf8')) as BenchFixtures;
}
