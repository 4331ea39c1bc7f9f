import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditContainer,
  createSandbox,
  explain,
  InvalidOptionError,
  KoaMtlsError,
  mtlsOptions,
  onTlsClientRejected,
  peerCertificate,
  requirePeer,
  type Sandbox,
  sandboxPath,
  validateSandboxPath,
  watchCertificates,
} from '../../src/index.js';
import { createCertificateAuthority } from '../../src/pki/index.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

/**
 * Every public factory, called the wrong way, fails at startup with a clear error: `InvalidOptionError`
 * (`code: 'ERR_INVALID_OPTION'`) whose `path` names the option and whose message starts with it in quotes, or, for
 * a configuration that is well-typed but refused (an empty PEM, a root that is not there), a `KoaMtlsError` with its
 * own code and the option named in the message. Nothing is deferred to the first request.
 */
class Settings {
  readonly key = 'value';
}

const WRONG_TYPES: readonly [label: string, value: unknown][] = [
  ['null', null],
  ['a number', 42],
  ['a string', 'options'],
  ['an array', []],
  ['a function', () => ({})],
  ['a class instance', new Settings()],
];

let dir: string;
let removeDir: () => void;
let sandbox: Sandbox;
let server: https.Server;
let pem: { key: string; cert: string; ca: string };
let files: { keyFile: string; certFile: string; caFile: string };

beforeAll(async () => {
  ({ path: dir, dispose: removeDir } = temporaryDirectory('bad-config'));
  const ca = await createCertificateAuthority();
  const issued = await ca.issueServer();
  pem = { key: issued.key, cert: issued.chain, ca: ca.root };
  files = { keyFile: join(dir, 'key.pem'), certFile: join(dir, 'cert.pem'), caFile: join(dir, 'ca.pem') };
  writeFileSync(files.keyFile, pem.key, { mode: 0o600 });
  writeFileSync(files.certFile, pem.cert);
  writeFileSync(files.caFile, pem.ca);
  sandbox = await createSandbox(dir);
  // Never listens: the factories only need a server object.
  server = https.createServer();
});

afterAll(async () => {
  await sandbox.close();
  removeDir();
});

/** Calls a factory (sync or async) and returns what it threw; fails the test when it did not throw. */
async function thrown(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** Asserts a startup InvalidOptionError naming `path`. */
function expectInvalidOption(error: unknown, path: string): void {
  expect(error).toBeInstanceOf(InvalidOptionError);
  expect(error).toBeInstanceOf(TypeError);
  const invalid = error as InvalidOptionError;
  expect(invalid.code).toBe('ERR_INVALID_OPTION');
  expect(invalid.path).toBe(path);
  expect(invalid.message.startsWith(`"${path}" `)).toBe(true);
}

/** One argument slot of one factory: how to call it with `value` there, and the option path it must name. */
type Slot = readonly [name: string, call: (value: unknown) => unknown, path: string];

const SLOTS: readonly Slot[] = [
  ['mtlsOptions(input)', (v) => mtlsOptions(v as never), 'mtlsOptions'],
  ['peerCertificate(options)', (v) => peerCertificate(v as never), 'peerCertificate'],
  ['requirePeer(policy)', (v) => requirePeer(v as never), 'policy'],
  ['requirePeer(policy, options)', (v) => requirePeer({ anyPeer: true }, v as never), 'options'],
  ['createSandbox(root)', (v) => createSandbox(v as never), 'root'],
  ['sandboxPath(options)', (v) => sandboxPath(v as never), 'options'],
  ['auditContainer(options)', (v) => auditContainer(v as never), 'auditContainer'],
  ['watchCertificates(server)', (v) => watchCertificates(v as never, files), 'watchCertificates.server'],
  ['watchCertificates(server, input)', (v) => watchCertificates(server, v as never), 'mtlsOptions'],
  [
    'watchCertificates(server, input, options)',
    (v) => watchCertificates(server, files, v as never),
    'watchCertificates.options',
  ],
  ['explain(policy)', (v) => explain(v as never, undefined), 'policy'],
  ['explain(policy, peer, options)', (v) => explain({ anyPeer: true }, undefined, v as never), 'options'],
  ['onTlsClientRejected(server)', (v) => onTlsClientRejected(v as never, () => {}), 'onTlsClientRejected.server'],
  ['validateSandboxPath(input, options)', (v) => validateSandboxPath('a.txt', v as never), 'options'],
];

const wrongTypeCases = SLOTS.flatMap(([name, call, path]) =>
  WRONG_TYPES.map(([label, value]) => [name, label, call, value, path] as const),
);

describe('when a factory is given a wrong type', () => {
  it.each(wrongTypeCases)('%s refuses %s at startup', async (_name, _label, call, value, path) => {
    expectInvalidOption(await thrown(() => call(value)), path);
  });

  it.each([
    ['null', null],
    ['a number', 42],
    ['a string', 'onAudit'],
    ['an array', []],
    ['a class instance', new Settings()],
  ])('onTlsClientRejected(server, onAudit) refuses %s', async (_label, value) => {
    expectInvalidOption(await thrown(() => onTlsClientRejected(server, value as never)), 'onTlsClientRejected.onAudit');
  });

  it.each(WRONG_TYPES.filter(([label]) => label !== 'null'))(
    'createSandbox(root, options) refuses %s',
    async (_label, value) => {
      expectInvalidOption(await thrown(() => createSandbox(dir, value as never)), 'options');
    },
  );

  it.each(WRONG_TYPES)(
    'explain(policy, peer) treats %s as no peer and denies (a peer is data, not an option)',
    async (_label, value) => {
      const explanation = await explain({ anyPeer: true }, value as never);
      expect(explanation).toMatchObject({ allowed: false, reason: 'PEER_MISSING' });
    },
  );
});

describe('when a factory is given an unknown key', () => {
  const cases: readonly [string, () => unknown, string][] = [
    ['mtlsOptions', () => mtlsOptions({ ...pem, kye: 'x' } as never), 'mtlsOptions.kye'],
    ['peerCertificate', () => peerCertificate({ source: ['tls'] } as never), 'peerCertificate.source'],
    [
      'peerCertificate sources[0]',
      () => peerCertificate({ sources: [{ type: 'xfcc', hop: 1 }] } as never),
      'peerCertificate.sources[0].hop',
    ],
    ['requirePeer policy', () => requirePeer({ sna: { dns: 'a.example' } } as never), 'policy.sna'],
    [
      'requirePeer nested policy',
      () => requirePeer({ anyOf: [{ san: { DNS: 'a.example' } }] } as never),
      'policy.anyOf[0].san.DNS',
    ],
    ['requirePeer options', () => requirePeer({ anyPeer: true }, { mdoe: 'report' } as never), 'options.mdoe'],
    ['createSandbox', () => createSandbox(dir, { symlink: 'none' } as never), 'options.symlink'],
    ['sandboxPath', () => sandboxPath({ sandbox, from: () => 'a', frm: 1 } as never), 'options.frm'],
    ['auditContainer', () => auditContainer({ rot: '/' } as never), 'auditContainer.rot'],
    [
      'watchCertificates options',
      () => watchCertificates(server, files, { debounce: 5 } as never),
      'watchCertificates.options.debounce',
    ],
    [
      'watchCertificates input',
      () => watchCertificates(server, { ...files, crlfile: 'x' } as never),
      'mtlsOptions.crlfile',
    ],
    ['explain', () => explain({ anyPeer: true }, undefined, { nwo: new Date() } as never), 'options.nwo'],
    ['validateSandboxPath', () => validateSandboxPath('a', { maxdepth: 3 } as never), 'options.maxdepth'],
    // JSON.parse makes "__proto__" an own key: it must be refused, not merged into a prototype.
    [
      'mtlsOptions __proto__',
      () => mtlsOptions(Object.assign(JSON.parse('{"__proto__":{"requestCert":false}}'), pem)),
      'mtlsOptions.__proto__',
    ],
    ['requirePeer __proto__', () => requirePeer(JSON.parse('{"__proto__":{"anyPeer":true}}')), 'policy.__proto__'],
    [
      'peerCertificate __proto__',
      () => peerCertificate(JSON.parse('{"__proto__":{"cacheSize":1}}')),
      'peerCertificate.__proto__',
    ],
  ];

  it.each(cases)('%s names the unknown key', async (_label, call, path) => {
    const error = await thrown(call);
    expectInvalidOption(error, path);
    expect((error as Error).message).toMatch(/is not a known option \(known: /);
  });
});

describe('when an option has the wrong type or an empty value', () => {
  const cases: readonly [string, () => unknown, string][] = [
    ['mtlsOptions without a key', () => mtlsOptions({ cert: pem.cert, ca: pem.ca }), 'mtlsOptions.key'],
    ['mtlsOptions keyFile: ""', () => mtlsOptions({ cert: pem.cert, ca: pem.ca, keyFile: '' }), 'mtlsOptions.keyFile'],
    [
      'mtlsOptions keyFile: 5',
      () => mtlsOptions({ cert: pem.cert, ca: pem.ca, keyFile: 5 as never }),
      'mtlsOptions.keyFile',
    ],
    ['mtlsOptions key and keyFile', () => mtlsOptions({ ...pem, keyFile: files.keyFile }), 'mtlsOptions.key'],
    ['mtlsOptions ca: []', () => mtlsOptions({ ...pem, ca: [] as never }), 'mtlsOptions.ca'],
    ['mtlsOptions profile', () => mtlsOptions({ ...pem, profile: 'legacy' as never }), 'mtlsOptions.profile'],
    [
      'mtlsOptions sessionTimeout',
      () => mtlsOptions({ ...pem, sessionTimeout: '300' as never }),
      'mtlsOptions.sessionTimeout',
    ],
    [
      'mtlsOptions handshakeTimeout NaN',
      () => mtlsOptions({ ...pem, handshakeTimeout: Number.NaN }),
      'mtlsOptions.handshakeTimeout',
    ],
    ['mtlsOptions passphrase', () => mtlsOptions({ ...pem, passphrase: 5 as never }), 'mtlsOptions.passphrase'],
    ['mtlsOptions onWarning', () => mtlsOptions({ ...pem, onWarning: 'console' as never }), 'mtlsOptions.onWarning'],
    ['peerCertificate sources: []', () => peerCertificate({ sources: [] }), 'peerCertificate.sources'],
    ['peerCertificate sources: [5]', () => peerCertificate({ sources: [5 as never] }), 'peerCertificate.sources[0]'],
    [
      'peerCertificate sources: [""]',
      () => peerCertificate({ sources: ['' as never] }),
      'peerCertificate.sources[0].type',
    ],
    ['peerCertificate cacheSize: -1', () => peerCertificate({ cacheSize: -1 }), 'peerCertificate.cacheSize'],
    ['peerCertificate onAudit', () => peerCertificate({ onAudit: 'log' as never }), 'peerCertificate.onAudit'],
    [
      'peerCertificate header source without proxies',
      () => peerCertificate({ sources: ['xfcc'] }),
      'peerCertificate.trustedProxies',
    ],
    [
      'peerCertificate trustedProxies: {}',
      () => peerCertificate({ sources: ['xfcc'], trustedProxies: {}, verify: { ca: pem.ca } as never }),
      'peerCertificate.trustedProxies',
    ],
    [
      'peerCertificate addresses: []',
      () => peerCertificate({ sources: ['xfcc'], trustedProxies: { addresses: [] }, verify: { ca: pem.ca } as never }),
      'peerCertificate.trustedProxies.addresses',
    ],
    [
      'peerCertificate a bad address',
      () =>
        peerCertificate({
          sources: ['xfcc'],
          trustedProxies: { addresses: ['proxy'] },
          verify: { ca: pem.ca } as never,
        }),
      'peerCertificate.trustedProxies.addresses[0]',
    ],
    [
      'peerCertificate verify: {}',
      () => peerCertificate({ sources: ['xfcc'], trustedProxies: { addresses: ['10.0.0.1'] }, verify: {} as never }),
      'peerCertificate.verify.ca',
    ],
    ['requirePeer {}', () => requirePeer({}), 'policy'],
    ['requirePeer anyOf: []', () => requirePeer({ anyOf: [] }), 'policy.anyOf'],
    ['requirePeer subject: {}', () => requirePeer({ subject: {} }), 'policy.subject'],
    ['requirePeer san: {}', () => requirePeer({ san: {} }), 'policy.san'],
    ['requirePeer san.dns: ""', () => requirePeer({ san: { dns: '' } }), 'policy.san.dns'],
    ['requirePeer san.dns: []', () => requirePeer({ san: { dns: [] } }), 'policy.san.dns'],
    ['requirePeer spiffe: [""]', () => requirePeer({ spiffe: [''] }), 'policy.spiffe[0]'],
    ['requirePeer not: {}', () => requirePeer({ anyPeer: true, not: {} }), 'policy.not'],
    ['requirePeer check', () => requirePeer({ anyPeer: true, check: 'isAdmin' as never }), 'policy.check'],
    ['requirePeer mode', () => requirePeer({ anyPeer: true }, { mode: 'audit' as never }), 'options.mode'],
    ['requirePeer revocation', () => requirePeer({ anyPeer: true }, { revocation: 5 as never }), 'options.revocation'],
    [
      'requirePeer allowBareWildcards',
      () => requirePeer({ anyPeer: true }, { allowBareWildcards: 'yes' as never }),
      'options.allowBareWildcards',
    ],
    ['createSandbox relative root', () => createSandbox('relative/dir'), 'root'],
    ['createSandbox root: ""', () => createSandbox(''), 'root'],
    ['createSandbox symlinks', () => createSandbox(dir, { symlinks: 'follow' as never }), 'options.symlinks'],
    ['createSandbox allow: "*.txt"', () => createSandbox(dir, { allow: '*.txt' as never }), 'options.allow'],
    ['createSandbox allow: [""]', () => createSandbox(dir, { allow: [''] }), 'options.allow[0]'],
    ['createSandbox maxDepth: 0', () => createSandbox(dir, { maxDepth: 0 }), 'options.maxDepth'],
    ['createSandbox fileMode', () => createSandbox(dir, { fileMode: '0644' as never }), 'options.fileMode'],
    ['createSandbox procFdDir: ""', () => createSandbox(dir, { procFdDir: '' }), 'options.procFdDir'],
    [
      'sandboxPath a look-alike sandbox',
      () => sandboxPath({ sandbox: { ...sandbox }, from: () => 'a' }),
      'options.sandbox',
    ],
    ['sandboxPath without from', () => sandboxPath({ sandbox } as never), 'options.from'],
    ['sandboxPath from: "params.name"', () => sandboxPath({ sandbox, from: 'params.name' as never }), 'options.from'],
    ['sandboxPath decode', () => sandboxPath({ sandbox, from: () => 'a', decode: 'once' as never }), 'options.decode'],
    [
      'sandboxPath requestId',
      () => sandboxPath({ sandbox, from: () => 'a', requestId: 5 as never }),
      'options.requestId',
    ],
    ['auditContainer failOn', () => auditContainer({ failOn: 'severe' as never }), 'auditContainer.failOn'],
    ['auditContainer root: ""', () => auditContainer({ root: '' }), 'auditContainer.root'],
    ['auditContainer relative root', () => auditContainer({ root: 'proc' }), 'auditContainer.root'],
    [
      'auditContainer sandboxRoots: "/srv"',
      () => auditContainer({ sandboxRoots: '/srv' as never }),
      'auditContainer.sandboxRoots',
    ],
    [
      'auditContainer sandboxRoots: [5]',
      () => auditContainer({ sandboxRoots: [5 as never] }),
      'auditContainer.sandboxRoots[0]',
    ],
    ['watchCertificates inline PEM only', () => watchCertificates(server, pem, {}), 'watchCertificates.input'],
    [
      'watchCertificates debounceMs',
      () => watchCertificates(server, files, { debounceMs: -1 }),
      'watchCertificates.options.debounceMs',
    ],
    [
      'watchCertificates onError',
      () => watchCertificates(server, files, { onError: 'log' as never }),
      'watchCertificates.options.onError',
    ],
    ['explain now', () => explain({ anyPeer: true }, undefined, { now: 5 as never }), 'options.now'],
    [
      'explain an invalid Date',
      () => explain({ anyPeer: true }, undefined, { now: new Date(Number.NaN) }),
      'options.now',
    ],
    ['validateSandboxPath charset', () => validateSandboxPath('a', { charset: 'ascii' as never }), 'options.charset'],
    ['validateSandboxPath maxLength: 0', () => validateSandboxPath('a', { maxLength: 0 }), 'options.maxLength'],
  ];

  it.each(cases)('%s is refused, naming the option', async (_label, call, path) => {
    expectInvalidOption(await thrown(call), path);
  });
});

describe('when a well-typed configuration is refused', () => {
  const cases: readonly [string, () => unknown, string, RegExp][] = [
    ['mtlsOptions key: ""', () => mtlsOptions({ ...pem, key: '' }), 'ERR_MTLS_CONFIG_MALFORMED_PEM', /option "key"/],
    [
      'mtlsOptions an empty key Buffer',
      () => mtlsOptions({ ...pem, key: Buffer.alloc(0) }),
      'ERR_MTLS_CONFIG_MALFORMED_PEM',
      /option "key"/,
    ],
    ['mtlsOptions ca: ""', () => mtlsOptions({ ...pem, ca: '' }), 'ERR_MTLS_CONFIG_MALFORMED_PEM', /option "ca"/],
    ['mtlsOptions ca: [""]', () => mtlsOptions({ ...pem, ca: [''] }), 'ERR_MTLS_CONFIG_MALFORMED_PEM', /option "ca"/],
    ['mtlsOptions crl: ""', () => mtlsOptions({ ...pem, crl: '' }), 'ERR_MTLS_CONFIG_CRL_MALFORMED', /option "crl"/],
    [
      'mtlsOptions requestCert: false',
      () => mtlsOptions({ ...pem, requestCert: false as never }),
      'ERR_MTLS_CONFIG_REQUEST_CERT',
      /option "requestCert"/,
    ],
    ['createSandbox a missing root', () => createSandbox(join(dir, 'missing')), 'ERR_SANDBOX_CONFIG', /sandbox root/],
    ['createSandbox the host root', () => createSandbox('/'), 'ERR_SANDBOX_CONFIG', /unsafeAllowHostRoot/],
  ];

  it.each(cases)('%s throws its own KoaMtlsError code', async (_label, call, code, message) => {
    const error = await thrown(call);
    expect(error).toBeInstanceOf(KoaMtlsError);
    expect((error as KoaMtlsError).code).toBe(code);
    expect((error as KoaMtlsError).message).toMatch(message);
  });
});

describe('bugs this suite found (fixed; kept as regression tests)', () => {
  // Was a bug (fixed) (src/sandbox/sandbox.ts, compileOptions: `options ?? {}`): createSandbox(root, null) is silently taken as
  // "no options", while every other factory (and createSandbox for every other wrong type) refuses null.
  it('createSandbox(root, null) refuses null options like every other factory', async () => {
    expectInvalidOption(await thrown(() => createSandbox(dir, null as never)), 'options');
  });

  // Was a bug (fixed) (src/sandbox/globs.ts, compileGlobs): `allow: []` is accepted and makes a sandbox that refuses every path
  // (404 GLOB_NOT_ALLOWED at request time) instead of a startup error. It fails closed, but an empty value that
  // disables the whole route should be refused when the server starts, like `anyOf: []` or `addresses: []` are.
  it('createSandbox refuses an empty allow-list at startup', async () => {
    expectInvalidOption(await thrown(() => createSandbox(dir, { allow: [] })), 'options.allow');
  });

  // Was a bug (fixed) (src/authz/explain.ts): `options.ctx` is read with ownValue() and never type-checked, so a string or number
  // ctx is passed to policy checks as if it were a Koa context.
  it('explain refuses a ctx that is not an object', async () => {
    expectInvalidOption(
      await thrown(() => explain({ anyPeer: true }, undefined, { ctx: 'ctx' as never })),
      'options.ctx',
    );
  });
});
