/**
 * The README's quick start, run as a new user runs it: in an empty directory, the setup commands as written (the
 * package name resolved to the packed tarball of this build), `server.mjs` exactly as printed, then the curl line that
 * `certs init` prints and the README's curl lines. Each curl line's comment states the status it must get; a refusal
 * must be explained in the server's log.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repository, requireBuild } from '../helpers/built-package.js';
import { externalTools } from '../helpers/external-tools.js';
import { freePort } from '../helpers/listen.js';
import { runProgram } from '../helpers/processes.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { verbatimBlock } from '../helpers/verbatim.js';

const readme = join(repository, 'README.md');
const { path: work, dispose: removeWork } = temporaryDirectory('quick-start');
const project = join(work, 'app');
let setupOutput = '';
let server: ChildProcess | undefined;
let log = '';
let port = 0;

/** Runs one README shell line in the project with `sh`; the port is the only thing changed. */
async function curl(line: string): Promise<{ status: string; body: string }> {
  const command = line.replace(/\s+#.*$/, '').replaceAll(':8443', `:${port}`);
  const run = await runProgram(
    'sh',
    ['-c', `${command} --silent --show-error --max-time 10 --write-out '\\n%{http_code}'`],
    { cwd: project, timeoutMs: 15_000 },
  );
  const lines = run.stdout.split('\n');
  return { status: lines.at(-1) ?? '', body: lines.slice(0, -1).join('\n') };
}

describe.skipIf(!externalTools('README quick start', ['curl']))('the README quick start, run verbatim', () => {
  beforeAll(async () => {
    requireBuild();
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: repository, encoding: 'utf8' }),
    ) as { filename: string }[];
    const tarball = join(work, packed?.filename ?? '');
    execFileSync('mkdir', [project]);
    // As written, except: the package comes from this build, and installs prefer the local npm cache.
    const setup = verbatimBlock(readme, 'quick-start-setup').replace(
      /^npm install koa-mtls /m,
      `npm install --no-audit --no-fund --prefer-offline ${tarball} `,
    );
    setupOutput = execFileSync('sh', ['-ec', setup], { cwd: project, encoding: 'utf8', timeout: 170_000 });
    writeFileSync(join(project, 'server.mjs'), verbatimBlock(readme, 'quick-start-server'));
    // A free loopback port, so the test never collides with a real 8443.
    port = await freePort();
    server = spawn(process.execPath, ['server.mjs'], { cwd: project, env: { ...process.env, PORT: String(port) } });
    server.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    server.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    const started = Date.now();
    while (!log.includes('listening on https://localhost:8443')) {
      if (server.exitCode !== null || Date.now() - started > 15_000)
        throw new Error(`server.mjs did not start:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }, 180_000);

  afterAll(async () => {
    if (server !== undefined && server.exitCode === null) {
      server.kill();
      await once(server, 'exit');
    }
    removeWork();
  });

  it('certs init prints a curl line for the route the quick start serves, and it answers 200', async () => {
    const printed = setupOutput.split('\n').find((line) => line.startsWith('curl '));
    expect(printed).toBeDefined();
    const { status, body } = await curl(printed as string);
    expect(status).toBe('200');
    expect(body).toBe('hello spiffe://example.org/ns/dev/sa/client\n');
  });

  const lines = verbatimBlock(readme, 'quick-start-curl').split('\n');
  it.each(lines.map((line) => [/# (\d{3})/.exec(line)?.[1] ?? 'no status comment', line]))(
    'answers %s to the README line %s',
    async (expected, line) => {
      const { status, body } = await curl(line);
      expect(status).toBe(expected);
      if (expected === '200') expect(body).toBe('Q4: all good\n');
      if (expected === '403') expect(body).toBe('Forbidden');
    },
  );

  it('explains each refusal in the server log, through the one configured audit hook', async () => {
    expect(lines.map((line) => /# (\d{3})/.exec(line)?.[1])).toEqual(['200', '403', '400']);
    await expect.poll(() => log).toContain('audit: authz deny POLICY_NO_MATCH');
    expect(log).toMatch(/audit: sandbox reject PATH_[A-Z_]+/);
    expect(log).toContain('audit: authz allow POLICY_MATCH');
  });

  it('logs a handshake without a client certificate as a TLS rejection', async () => {
    const { status } = await curl('curl --cacert pki/ca.pem https://localhost:8443/');
    expect(status).toBe('000');
    await expect.poll(() => log).toMatch(/audit: tls reject TLS_[A-Z_]+/);
  });
});
