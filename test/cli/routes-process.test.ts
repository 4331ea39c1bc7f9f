import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli, repository, requireBuild } from '../helpers/built-package.js';
import { runProgram } from '../helpers/processes.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const { path: scratch, dispose: removeScratch } = temporaryDirectory('routes-process');
afterAll(() => removeScratch());
beforeAll(requireBuild);

const routerUrl = pathToFileURL(createRequire(import.meta.url).resolve('@koa/router')).href;

/** A module that exports a one-route router after running `body` at top level. */
function moduleFile(name: string, body: string): string {
  const file = join(scratch, name);
  writeFileSync(
    file,
    `import Router from ${JSON.stringify(routerUrl)};\n${body}\nexport const router = new Router();\nrouter.get('/x', (ctx) => { ctx.body = 'x'; });\n`,
  );
  return file;
}

// The bound of each run: far above a normal run (~2 s), far below a hang.
const bound = { cwd: repository, timeoutMs: 25_000 };

describe('koa-mtls routes as a process', () => {
  it('loads a TypeScript module (the README example) through tsx and exits 0', async () => {
    const run = await runProgram(process.execPath, [builtCli, 'routes', 'examples/spiffe-router.ts'], bound);
    expect(run.stderr).toBe('');
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    expect(run.stdout).toContain('GET     /api/orders');
  });

  it('exits with its code when the module starts a server and a timer', async () => {
    const file = moduleFile(
      'starts-server.mjs',
      `import http from 'node:http';\nhttp.createServer().listen(0, '127.0.0.1');\nsetInterval(() => {}, 1000);`,
    );
    const run = await runProgram(process.execPath, [builtCli, 'routes', file, '--fail-on-unguarded'], bound);
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 1, signal: null });
    expect(run.stdout).toContain('/x');
    expect(run.stderr).toContain('1 route(s) without an enforcing policy: GET /x');
  });

  it('gives up with exit 2 and the fix when the module never finishes loading', async () => {
    const file = moduleFile('never-loads.mjs', 'setInterval(() => {}, 1000);\nawait new Promise(() => {});');
    const run = await runProgram(process.execPath, [builtCli, 'routes', file, '--timeout', '1'], bound);
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 2, signal: null });
    expect(run.stderr).toContain('did not finish loading within 1 s');
    expect(run.stderr).toContain('raise --timeout');
  });

  it('refuses a malformed --timeout as a usage error', async () => {
    const file = moduleFile('plain.mjs', '');
    const run = await runProgram(process.execPath, [builtCli, 'routes', file, '--timeout', '0'], bound);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--timeout must be 1..3600 seconds');
  });

  it('prints the version with --version', async () => {
    const run = await runProgram(process.execPath, [builtCli, '--version'], bound);
    const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
    expect(run.stdout).toBe(`${version}\n`);
    expect(run.code).toBe(0);
  });
});
