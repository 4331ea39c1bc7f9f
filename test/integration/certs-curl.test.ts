import https from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { mtlsOptions } from '../../src/tls/index.js';
import { capturedIo } from '../helpers/captured-io.js';
import { externalTools } from '../helpers/external-tools.js';
import { close, listen } from '../helpers/listen.js';
import { runProgram } from '../helpers/processes.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const { path: dir, dispose: removeDir } = temporaryDirectory('curl');
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
  port = await listen(server);
});
afterAll(async () => {
  await close(server);
  removeDir();
});

const curl = (...args: string[]) =>
  runProgram('curl', [
    '--silent',
    '--show-error',
    '--max-time',
    '5',
    '--resolve',
    `localhost:${port}:127.0.0.1`,
    ...args,
  ]);

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
    expect((await curl('--cacert', join(dir, 'ca.pem'), `https://localhost:${port}/`)).code).not.toBe(0);
  });
});
