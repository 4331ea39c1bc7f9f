import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { mtlsOptions } from '../../src/tls/index.js';
import { capturedIo } from '../helpers/captured-io.js';
import { externalTools } from '../helpers/external-tools.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'koa-mtls-curl-'));
let server: https.Server;
let port: number;

beforeAll(async () => {
  expect(await main(['certs', 'init', '--out', dir], capturedIo(dir))).toBe(0);
  const file = (name: string) => join(dir, name);
  server = https.createServer(
    mtlsOptions({ keyFile: file('server-key.pem'), certFile: file('server.pem'), caFile: file('ca.pem') }),
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerX509Certificate();
      res.end(`hello ${peer?.subject ?? 'nobody'}`);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const curl = (...args: string[]) =>
  run('curl', ['--silent', '--show-error', '--max-time', '5', '--resolve', `localhost:${port}:127.0.0.1`, ...args]);

describe.skipIf(!externalTools('curl against `certs init`', ['curl']))('a PKI written by `koa-mtls certs init`', () => {
  it('lets curl call a Node https server configured from the same files with mtlsOptions', async () => {
    const { stdout } = await curl(
      '--cacert',
      join(dir, 'ca.pem'),
      '--cert',
      join(dir, 'client.pem'),
      '--key',
      join(dir, 'client-key.pem'),
      `https://localhost:${port}/`,
    );
    expect(stdout).toBe('hello O=koa-mtls development\nCN=client');
  });

  it('is refused by that server when curl sends no client certificate', async () => {
    await expect(curl('--cacert', join(dir, 'ca.pem'), `https://localhost:${port}/`)).rejects.toThrow();
  });
});
