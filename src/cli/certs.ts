/**
 * `koa-mtls certs <init|server|client|revoke>`: writes a development PKI into a directory.
 *
 * Everything is validated and generated in memory first; files are written only when every target is free (or
 * `--force`), so a bad flag never leaves a half-written directory. Private keys get mode 0600.
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { KoaMtlsError } from '../errors.js';
import { toJsonName } from '../pki/distinguished-name.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssuedCertificate,
  type KeyAlgorithm,
  keyAlgorithms,
  loadCertificateAuthority,
  type SubjectAltNameInput,
  toPkcs12,
} from '../pki/index.js';
import { x509 } from '../x509/runtime.js';
import { type CommandIo, exitCodes, parseCommandArgs, UsageError } from './command-io.js';

/** The client SAN `certs init` writes by default: a SPIFFE ID, so SPIFFE policies (and the README's quick start) match. */
const DEFAULT_CLIENT_SAN = 'uri:spiffe://example.org/ns/dev/sa/client';
/** Key types whose certificates `mtlsOptions` accepts (RSA below 2048 bits is refused, NIST SP 800-131A). */
const weakKeyTypes: readonly KeyAlgorithm[] = ['rsa-1024'];
const strongKeyTypes = keyAlgorithms.filter((type) => !weakKeyTypes.includes(type)).join(' | ');

const help: Readonly<Record<string, string>> = {
  certs: `Usage: koa-mtls certs <init|server|client|revoke> --out DIR [options]

Writes a development PKI (never for production). Run "koa-mtls certs <subcommand> --help" for its options.
  init     a root CA, a server certificate and a client certificate
  server   another server certificate from the CA in DIR
  client   another client certificate from the CA in DIR
  revoke   add certificates to DIR/crl.pem (signed by the CA in DIR)
`,
  init: `Usage: koa-mtls certs init --out DIR [options]

Writes ca.pem, ca-key.pem, server.pem, server-key.pem, client.pem, client-key.pem (keys mode 0600).
  --out DIR              directory to write into (created if missing)
  --key-type TYPE        ${strongKeyTypes} (default ec-p256)
  --days N               validity of the server and client certificates (default 30)
  --server-san TYPE:V    repeatable; default dns:localhost ip:127.0.0.1 ip:::1
  --client-subject DN    default "CN=client,O=koa-mtls development"
  --client-san TYPE:V    repeatable (dns:, uri:, email:, ip:, upn:); default ${DEFAULT_CLIENT_SAN}
  --p12-password PW      also write client.p12 (needs an rsa-* key type)
  --allow-weak           accept --key-type rsa-1024 (for negative tests; mtlsOptions refuses it)
  --force                overwrite existing files
`,
  server: `Usage: koa-mtls certs server --out DIR [options]

Issues NAME.pem and NAME-key.pem from DIR/ca.pem and DIR/ca-key.pem.
  --out DIR              directory holding the CA; the certificate is written there too
  --name NAME            file name stem (default server)
  --san TYPE:V           repeatable; default dns:localhost ip:127.0.0.1 ip:::1
  --subject DN           default CN=<first DNS SAN>
  --key-type TYPE        ${strongKeyTypes} (default ec-p256)
  --days N               validity (default 30)
  --allow-weak           accept --key-type rsa-1024 (for negative tests; mtlsOptions refuses it)
  --force                overwrite existing files
`,
  client: `Usage: koa-mtls certs client --out DIR [options]

Issues NAME.pem and NAME-key.pem from DIR/ca.pem and DIR/ca-key.pem.
  --out DIR              directory holding the CA; the certificate is written there too
  --name NAME            file name stem (default client)
  --subject DN           default "CN=NAME,O=koa-mtls development"
  --san TYPE:V           repeatable (dns:, uri:, email:, ip:, upn:)
  --key-type TYPE        ${strongKeyTypes} (default ec-p256)
  --days N               validity (default 30)
  --p12-password PW      also write NAME.p12 (needs an rsa-* key type)
  --allow-weak           accept --key-type rsa-1024 (for negative tests; mtlsOptions refuses it)
  --force                overwrite existing files
`,
  revoke: `Usage: koa-mtls certs revoke --out DIR (--serial HEX | --cert FILE)...

Writes DIR/crl.pem: the revocations already in it plus the new ones, signed by DIR/ca-key.pem.
  --out DIR              directory holding the CA
  --serial HEX           repeatable: a serial number to revoke
  --cert FILE            repeatable: a certificate (PEM) to revoke
  --days N               CRL validity (default 30); an expired CRL makes OpenSSL reject every client
`,
};

type FileToWrite = { readonly name: string; readonly content: string | Buffer; readonly secret: boolean };

const sanTypes = ['dns', 'uri', 'email', 'ip', 'upn'] as const;
const dnsName = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

function parseSans(values: readonly string[]): SubjectAltNameInput {
  const san: Record<(typeof sanTypes)[number], string[]> = { dns: [], uri: [], email: [], ip: [], upn: [] };
  for (const entry of values) {
    const colon = entry.indexOf(':');
    const type = entry.slice(0, colon).toLowerCase();
    const value = entry.slice(colon + 1);
    if (colon <= 0 || !(sanTypes as readonly string[]).includes(type) || value === '') {
      // A bare URI (spiffe://…, https://…) is the most common slip: its scheme reads as the SAN type.
      const hint = /^[a-z][a-z0-9+.-]*:\/\/./i.test(entry) ? ` (did you mean "uri:${entry}"?)` : '';
      throw new UsageError(`malformed SAN "${entry}": use TYPE:VALUE with TYPE one of ${sanTypes.join(', ')}${hint}`);
    }
    const valid =
      type === 'dns'
        ? dnsName.test(value) && value.length <= 253
        : type === 'ip'
          ? isIP(value) !== 0
          : type === 'uri'
            ? URL.canParse(value) && /^[a-z][a-z0-9+.-]*:\/\/./i.test(value)
            : /^[^@\s]+@[^@\s]+$/.test(value);
    if (!valid) throw new UsageError(`malformed SAN "${entry}": not a valid ${type} value`);
    san[type as (typeof sanTypes)[number]].push(value);
  }
  return san;
}

function parseSubject(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    toJsonName(value);
  } catch (error) {
    if (error instanceof KoaMtlsError) throw new UsageError(`malformed --subject: ${error.message}`);
    throw error;
  }
  return value;
}

function parseKeyType(value: string | undefined, allowWeak: boolean, io: CommandIo): KeyAlgorithm {
  if (value === undefined) return 'ec-p256';
  if (!(keyAlgorithms as readonly string[]).includes(value)) {
    throw new UsageError(`unknown --key-type "${value}" (one of ${strongKeyTypes.replaceAll(' |', ',')})`);
  }
  const type = value as KeyAlgorithm;
  if (weakKeyTypes.includes(type)) {
    // mtlsOptions refuses RSA keys below 2048 bits (ERR_MTLS_CONFIG_WEAK_KEY): never write them by accident.
    if (!allowWeak) {
      throw new UsageError(
        `--key-type ${type} makes keys mtlsOptions refuses (RSA < 2048 bits); use rsa-2048 or ec-p256, or add --allow-weak for negative tests`,
      );
    }
    io.stderr(`koa-mtls certs: WARNING: ${type} keys are weak; mtlsOptions will refuse these certificates\n`);
  }
  return type;
}

function parseDays(value: string | undefined): number {
  if (value === undefined) return 30;
  const days = Number(value);
  if (!/^[0-9]+$/.test(value) || days < 1 || days > 3650)
    throw new UsageError(`--days must be 1..3650, got "${value}"`);
  return days;
}

function parseName(value: string | undefined, fallback: string): string {
  const name = value ?? fallback;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) || name.endsWith('.')) {
    throw new UsageError(`--name must be a plain file name stem (letters, digits, . _ -), got "${name}"`);
  }
  return name;
}

function requireOut(value: string | undefined, io: CommandIo): string {
  if (value === undefined || value === '') throw new UsageError('--out DIR is required');
  return resolve(io.cwd, value);
}

function p12Needs(keyType: KeyAlgorithm, password: string | undefined): void {
  if (password === undefined) return;
  if (password === '') throw new UsageError('--p12-password must not be empty (browsers refuse it)');
  if (!keyType.startsWith('rsa-')) throw new UsageError('--p12-password needs an RSA key: add --key-type rsa-2048');
}

type FlagSpec = Record<string, { readonly type: 'string' | 'boolean'; readonly multiple?: boolean }>;
type FlagValues = { readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>> };

function parse(argv: readonly string[], options: FlagSpec): FlagValues {
  return parseCommandArgs({
    args: [...argv],
    options: { ...options, help: { type: 'boolean' } },
    allowPositionals: false,
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function writeAll(dir: string, files: readonly FileToWrite[], force: boolean, io: CommandIo): Promise<void> {
  if (!force) {
    for (const file of files) {
      if (await exists(join(dir, file.name))) {
        throw new UsageError(`${join(dir, file.name)} exists; pass --force to overwrite`);
      }
    }
  }
  await mkdir(dir, { recursive: true });
  for (const file of files) {
    const path = join(dir, file.name);
    const mode = file.secret ? 0o600 : 0o644;
    await writeFile(path, file.content, { mode, flag: force ? 'w' : 'wx' });
    // writeFile's mode applies only to new files (and is masked by umask): set it explicitly.
    await chmod(path, mode);
    io.stdout(`wrote ${path} (${mode.toString(8).padStart(4, '0')})\n`);
  }
}

function certificateFiles(name: string, issued: IssuedCertificate, p12Password: string | undefined): FileToWrite[] {
  const files: FileToWrite[] = [
    { name: `${name}.pem`, content: issued.chain, secret: false },
    { name: `${name}-key.pem`, content: issued.key, secret: true },
  ];
  if (p12Password !== undefined) {
    files.push({ name: `${name}.p12`, content: toPkcs12(issued, { password: p12Password }), secret: true });
  }
  return files;
}

async function loadCa(dir: string): Promise<CertificateAuthority> {
  let certificate: string;
  let key: string;
  try {
    certificate = await readFile(join(dir, 'ca.pem'), 'utf8');
    key = await readFile(join(dir, 'ca-key.pem'), 'utf8');
  } catch {
    throw new UsageError(`no CA in ${dir} (ca.pem and ca-key.pem); run "koa-mtls certs init --out ${dir}" first`);
  }
  try {
    return await loadCertificateAuthority({ certificate, key });
  } catch (error) {
    if (error instanceof KoaMtlsError) throw new UsageError(`${dir}: ${error.message}`);
    throw error;
  }
}

/** A labelled curl line calling `path` on https://localhost:8443 with the client certificate `client` from `dir`. */
function curlLine(dir: string, client: string, path: string, label: string): string {
  return `curl --cacert ${join(dir, 'ca.pem')} --cert ${join(dir, `${client}.pem`)} --key ${join(dir, `${client}-key.pem`)} https://localhost:8443${path}   # ${label}\n`;
}

async function init(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parse(argv, {
    out: { type: 'string' },
    'key-type': { type: 'string' },
    days: { type: 'string' },
    'server-san': { type: 'string', multiple: true },
    'client-subject': { type: 'string' },
    'client-san': { type: 'string', multiple: true },
    'p12-password': { type: 'string' },
    'allow-weak': { type: 'boolean' },
    force: { type: 'boolean' },
  });
  if (values.help === true) return printHelp('init', io);
  const dir = requireOut(values.out as string | undefined, io);
  const keyAlgorithm = parseKeyType(values['key-type'] as string | undefined, values['allow-weak'] === true, io);
  const validityDays = parseDays(values.days as string | undefined);
  const serverSan = parseSans(
    (values['server-san'] as string[] | undefined) ?? ['dns:localhost', 'ip:127.0.0.1', 'ip:::1'],
  );
  const clientSubject =
    parseSubject(values['client-subject'] as string | undefined) ?? 'CN=client,O=koa-mtls development';
  const clientSan = parseSans((values['client-san'] as string[] | undefined) ?? [DEFAULT_CLIENT_SAN]);
  const p12Password = values['p12-password'] as string | undefined;
  p12Needs(keyAlgorithm, p12Password);

  const ca = await createCertificateAuthority({ keyAlgorithm });
  const server = await ca.issueServer({ san: serverSan, keyAlgorithm, validityDays });
  const client = await ca.issueClient({ subject: clientSubject, san: clientSan, keyAlgorithm, validityDays });
  await writeAll(
    dir,
    [
      { name: 'ca.pem', content: ca.certificate, secret: false },
      { name: 'ca-key.pem', content: ca.key, secret: true },
      ...certificateFiles('server', server, undefined),
      ...certificateFiles('client', client, p12Password),
    ],
    values.force === true,
    io,
  );
  io.stdout(
    `\nFor mtlsOptions: { keyFile: '${join(dir, 'server-key.pem')}', certFile: '${join(dir, 'server.pem')}', caFile: '${join(dir, 'ca.pem')}' }\n` +
      `Try it against a server on port 8443 that serves / (the README's quick start):\n${curlLine(dir, 'client', '/', 'the client certificate')}`,
  );
  return exitCodes.ok;
}

async function issue(kind: 'server' | 'client', argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parse(argv, {
    out: { type: 'string' },
    name: { type: 'string' },
    subject: { type: 'string' },
    san: { type: 'string', multiple: true },
    'key-type': { type: 'string' },
    days: { type: 'string' },
    'allow-weak': { type: 'boolean' },
    force: { type: 'boolean' },
    ...(kind === 'client' ? { 'p12-password': { type: 'string' as const } } : {}),
  });
  if (values.help === true) return printHelp(kind, io);
  const dir = requireOut(values.out as string | undefined, io);
  const name = parseName(values.name as string | undefined, kind);
  const keyAlgorithm = parseKeyType(values['key-type'] as string | undefined, values['allow-weak'] === true, io);
  const validityDays = parseDays(values.days as string | undefined);
  const sanValues = values.san as string[] | undefined;
  const san = parseSans(sanValues ?? (kind === 'server' ? ['dns:localhost', 'ip:127.0.0.1', 'ip:::1'] : []));
  const subject =
    parseSubject(values.subject as string | undefined) ??
    (kind === 'client' ? `CN=${name},O=koa-mtls development` : undefined);
  const p12Password = values['p12-password'] as string | undefined;
  p12Needs(keyAlgorithm, p12Password);

  const ca = await loadCa(dir);
  const options = { san, keyAlgorithm, validityDays, ...(subject === undefined ? {} : { subject }) };
  const issued = kind === 'server' ? await ca.issueServer(options) : await ca.issueClient(options);
  await writeAll(dir, certificateFiles(name, issued, p12Password), values.force === true, io);
  io.stdout(`serial ${issued.serialNumber}\n`);
  if (kind === 'client') io.stdout(curlLine(dir, name, '/', `as ${name}`));
  return exitCodes.ok;
}

async function revoke(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parse(argv, {
    out: { type: 'string' },
    serial: { type: 'string', multiple: true },
    cert: { type: 'string', multiple: true },
    days: { type: 'string' },
  });
  if (values.help === true) return printHelp('revoke', io);
  const dir = requireOut(values.out as string | undefined, io);
  const validityDays = parseDays(values.days as string | undefined);
  const serials = ((values.serial as string[] | undefined) ?? []).map((serial) => {
    const hex = serial.replace(/:/g, '').toLowerCase();
    if (!/^[0-9a-f]{1,40}$/.test(hex)) throw new UsageError(`--serial "${serial}" is not a hex serial number`);
    return hex;
  });
  for (const file of (values.cert as string[] | undefined) ?? []) {
    let pem: string;
    try {
      pem = await readFile(resolve(io.cwd, file), 'utf8');
      serials.push(new x509.X509Certificate(pem).serialNumber.toLowerCase());
    } catch {
      throw new UsageError(`--cert ${file} is not a readable PEM certificate`);
    }
  }
  if (serials.length === 0) throw new UsageError('nothing to revoke: give --serial HEX or --cert FILE');
  const ca = await loadCa(dir);
  const crlPath = join(dir, 'crl.pem');
  const revoked = new Set(serials);
  if (await exists(crlPath)) {
    try {
      const previous = new x509.X509Crl(await readFile(crlPath, 'utf8'));
      for (const entry of previous.entries) revoked.add(entry.serialNumber.toLowerCase());
    } catch {
      throw new UsageError(`${crlPath} is not a readable CRL; move it away and revoke again`);
    }
  }
  const thisUpdate = new Date(Date.now() - 3_600_000);
  const crl = await ca.createCrl({
    revoked: [...revoked].map((serialNumber) => ({ serialNumber })),
    thisUpdate,
    nextUpdate: new Date(thisUpdate.getTime() + validityDays * 86_400_000),
  });
  await writeAll(dir, [{ name: 'crl.pem', content: crl, secret: false }], true, io);
  io.stdout(`${revoked.size} revoked; reload the server's crl option (e.g. crlFile) to apply\n`);
  return exitCodes.ok;
}

function printHelp(topic: string, io: CommandIo): number {
  io.stdout(help[topic] ?? '');
  return exitCodes.ok;
}

/**
 * Runs `koa-mtls certs …`; returns the exit code (0 done, 2 usage error with nothing written).
 */
export async function runCerts(argv: readonly string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'init':
      return init(rest, io);
    case 'server':
    case 'client':
      return issue(sub, rest, io);
    case 'revoke':
      return revoke(rest, io);
    case '--help':
    case '-h':
      return printHelp('certs', io);
    default:
      throw new UsageError(
        sub === undefined ? 'missing subcommand (init, server, client, revoke)' : `unknown subcommand "${sub}"`,
      );
  }
}
