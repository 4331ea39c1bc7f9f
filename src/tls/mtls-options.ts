/**
 * `mtlsOptions`: strict, validated server options for `https.createServer`, `http2.createSecureServer` and
 * `tls.createServer`. It refuses a weak or half-configured mutual-TLS setup at startup, with one
 * `ERR_MTLS_CONFIG_*` error per problem, each naming the file and the fix.
 *
 * @module tls/mtls-options
 */
import { constants, createPrivateKey, type KeyObject } from 'node:crypto';
import { statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { optionalModeSniCallback } from '../anonymous/optional-mode.js';
import { configError, InvalidOptionError } from '../errors.js';
import {
  assertOptionsObject,
  optionalBoolean,
  optionalChoice,
  optionalFunction,
  optionalInteger,
  optionalString,
  ownValue,
} from '../options/validate.js';
import { fileSource, inlineSource, type PemInput, type PemSource, pemBlocks } from '../trust/pem.js';
import { type Trust, trustState } from '../trust/trust.js';
import {
  type CheckContext,
  checkCaBundle,
  checkCrls,
  checkServerChain,
  digestOf,
  type LoadedCertificate,
  loadCertificates,
} from './certificate-checks.js';
import { type MtlsProfile, STRICT_CIPHERS, strictGroups } from './profile.js';
import { type StrictSniCallback, strictSniCallback } from './sni.js';
import {
  emitProcessWarning,
  keylogWarning,
  type MtlsWarning,
  type MtlsWarningHook,
  nodeEndOfLifeWarning,
  optionalClientCertificateWarning,
} from './warnings.js';

/**
 * Input of {@link mtlsOptions}. Each of key, certificate, CA bundle and CRL comes either inline (`key`, `cert`,
 * `ca`, `crl`: PEM text or bytes) or from a file (`keyFile`, `certFile`, `caFile`, `crlFile`), never both.
 *
 * `requestCert`, `rejectUnauthorized`, `minVersion`, `ticketKeys`, `secureProtocol`, `SNICallback` and
 * `allowPartialTrustChain` are accepted only so that a value weakening mutual TLS is refused with its own error.
 *
 * @example
 * ```ts
 * import { type MtlsOptionsInput, mtlsOptions } from 'koa-mtls';
 *
 * const input: MtlsOptionsInput = {
 *   keyFile: '/etc/tls/tls.key',
 *   certFile: '/etc/tls/tls.crt',
 *   caFile: '/etc/tls/ca.crt',
 *   profile: 'intermediate',
 * };
 * const options = mtlsOptions(input);
 * ```
 */
export interface MtlsOptionsInput {
  /** Server private key, PEM (PKCS#8, PKCS#1 or SEC1; encrypted needs `passphrase`). */
  readonly key?: PemInput;
  /** Path of the server private key. Warned about when world-readable. */
  readonly keyFile?: string;
  /** Server certificate, PEM, leaf first, then intermediates. */
  readonly cert?: PemInput;
  /** Path of the server certificate chain. */
  readonly certFile?: string;
  /** Trust anchors for client certificates, PEM. Required: without it Node trusts the public root store. */
  readonly ca?: PemInput;
  /** Path of the trust bundle. */
  readonly caFile?: string;
  /** CRLs, PEM, one per CA in the bundle. Optional. */
  readonly crl?: PemInput;
  /** Path of the CRL file. */
  readonly crlFile?: string;
  /**
   * A trust from `createTrust()`, instead of `ca`/`caFile`/`crl`/`crlFile`: OpenSSL gets the union of its anchors
   * (every trust-domain bundle and `ca`) and its CRLs. Share it with `peerCertificate({ trust })`; with
   * `watchCertificates`, each change of the trust rotates the server's secure context.
   */
  readonly trust?: Trust;
  /** Passphrase of an encrypted key. */
  readonly passphrase?: string;
  /** `modern` (default): TLS 1.3 only. `intermediate`: TLS 1.2 and 1.3, Mozilla AEAD suites. */
  readonly profile?: MtlsProfile;
  /** Warn when a certificate expires within this many days (capped at a third of its lifetime). Default 14. */
  readonly expiryWarningDays?: number;
  /** TLS session (ticket) lifetime in seconds, 1–86400. Default 300 (Node's effective default is 7200). */
  readonly sessionTimeout?: number;
  /** Whether clients may resume sessions. Default true; `false` sets `SSL_OP_NO_TICKET` (a full handshake each time). */
  readonly sessionResumption?: boolean;
  /** Milliseconds a client has to finish the handshake, 1000–120000. Default 10000 (Node's is 120000). */
  readonly handshakeTimeout?: number;
  /** Receives warnings. Default `process.emitWarning`. */
  readonly onWarning?: MtlsWarningHook;
  /**
   * `'required'` (default): a client without a certificate fails the handshake. `'optional'`: such a client may
   * connect, and `peerCertificate` answers it 401 on every route not declared with `allowAnonymous()`; a client that
   * presents a certificate is verified exactly as in `'required'` mode and refused at the handshake when it fails
   * (reported by `onTlsClientRejected`). Warned about at startup (`MTLS_CLIENT_CERTIFICATE_OPTIONAL`).
   */
  readonly clientCertificate?: ClientCertificateMode;
  /** Must be `true` if given: client certificates are always requested. */
  readonly requestCert?: boolean;
  /** Must be `true` if given: unverified clients are always rejected. */
  readonly rejectUnauthorized?: boolean;
  /** `TLSv1.3`, or `TLSv1.2` with profile `intermediate`. Lower versions are refused. */
  readonly minVersion?: string;
  /** Refused: static ticket keys let sessions resume across a trust change. */
  readonly ticketKeys?: unknown;
  /** Refused: it overrides `minVersion`/`maxVersion`. */
  readonly secureProtocol?: unknown;
  /** Refused: its contexts are not built by `mtlsOptions` and may trust the public root store. */
  readonly SNICallback?: unknown;
  /** Refused when `true`: it makes intermediates trust anchors. */
  readonly allowPartialTrustChain?: boolean;
}

/**
 * The strict server options. Pass them whole to `https.createServer`, `http2.createSecureServer` or
 * `tls.createServer` (spread them to add server settings such as `keepAliveTimeout`); never drop a field.
 *
 * @example
 * ```ts
 * import http2 from 'node:http2';
 * import { type MtlsServerOptions, mtlsOptions } from 'koa-mtls';
 *
 * const options: MtlsServerOptions = mtlsOptions({ keyFile: 'tls.key', certFile: 'tls.crt', caFile: 'ca.crt' });
 * const server = http2.createSecureServer({ ...options, allowHTTP1: true }, app.callback());
 * ```
 */
export interface MtlsServerOptions {
  readonly key: string;
  readonly passphrase?: string;
  /** The validated server chain, PEM. */
  readonly cert: string;
  /** The validated trust bundle, PEM. */
  readonly ca: string;
  /**
   * The validated CRLs, one PEM string each, when configured. An array on purpose: Node's `addCRL` reads only the
   * first CRL of a string, so a second CA's CRL in the same string would be ignored (then `UNABLE_TO_GET_CRL`).
   */
  readonly crl?: string[];
  readonly requestCert: true;
  /** `true`; `false` only with `clientCertificate: 'optional'`, where the mode's guard refuses failed certificates. */
  readonly rejectUnauthorized: boolean;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion: 'TLSv1.3';
  readonly ciphers: string;
  readonly ecdhCurve: string;
  readonly honorCipherOrder: true;
  readonly secureOptions: number;
  readonly sessionTimeout: number;
  /** 32 hex characters derived from the trust anchors, CRLs and profile: sessions never cross a trust change. */
  readonly sessionIdContext: string;
  readonly handshakeTimeout: number;
  readonly enableTrace: false;
  /** Keeps every SNI name on the strict context and refuses handshakes when `server.addContext()` was used. */
  readonly SNICallback: StrictSniCallback;
}

/** The input after shape validation: which sources to read, and the choices. */
export interface CompiledMtlsInput {
  readonly key: SourceSpec;
  readonly cert: SourceSpec;
  /** `undefined` exactly when `trust` is given. */
  readonly ca: SourceSpec | undefined;
  readonly crl: SourceSpec | undefined;
  readonly trust: Trust | undefined;
  readonly passphrase: string | undefined;
  readonly profile: MtlsProfile;
  readonly expiryWarningMs: number;
  readonly sessionTimeout: number;
  readonly sessionResumption: boolean;
  readonly handshakeTimeout: number;
  readonly onWarning: MtlsWarningHook;
  readonly clientCertificate: ClientCertificateMode;
}

/**
 * Whether clients must present a certificate (`required`) or may connect without one (`optional`).
 *
 * @example
 * ```ts
 * import { type ClientCertificateMode, mtlsOptions } from 'koa-mtls';
 *
 * // Clients without a certificate may connect; only allowAnonymous() routes answer them.
 * const clientCertificate: ClientCertificateMode = 'optional';
 * const options = mtlsOptions({ keyFile: 'tls.key', certFile: 'tls.crt', caFile: 'ca.crt', clientCertificate });
 * ```
 */
export type ClientCertificateMode = 'required' | 'optional';

/** The SNI callback of the optional mode: the strict one plus the guard that refuses failed certificates. */
const optionalSniCallback = optionalModeSniCallback(strictSniCallback);

/** Where one input comes from. */
export type SourceSpec =
  | { readonly kind: 'inline'; readonly option: string; readonly value: PemInput }
  | { readonly kind: 'file'; readonly option: string; readonly path: string };

/** What a build produced, for rotation: the options and the digests that tell a trust change from a renewal. */
export interface BuiltMtlsOptions {
  readonly options: MtlsServerOptions;
  /** SHA-256 over the CA and CRL DER: changes exactly when trust changes. */
  readonly trustDigest: string;
  /** SHA-256 of the leaf certificate (lower-case hex). */
  readonly fingerprint256: string;
  readonly notAfter: Date;
}

/** The server policy options that do not name credentials (shared with `spiffeMtls({ tls })`). */
export const SERVER_POLICY_KEYS = [
  'profile',
  'expiryWarningDays',
  'sessionTimeout',
  'sessionResumption',
  'handshakeTimeout',
  'onWarning',
] as const;

const KNOWN_KEYS = [
  'key',
  'keyFile',
  'cert',
  'certFile',
  'ca',
  'caFile',
  'crl',
  'crlFile',
  'trust',
  'passphrase',
  ...SERVER_POLICY_KEYS,
  'requestCert',
  'rejectUnauthorized',
  'minVersion',
  'ticketKeys',
  'secureProtocol',
  'SNICallback',
  'allowPartialTrustChain',
  'clientCertificate',
] as const;

const DAY_MS = 86_400_000;
const PATH = 'mtlsOptions';

function isPemInput(value: unknown): value is PemInput {
  const single = (item: unknown) => typeof item === 'string' || item instanceof Uint8Array;
  return single(value) || (Array.isArray(value) && value.length > 0 && value.every(single));
}

function sourceSpec(input: Record<string, unknown>, option: 'key' | 'cert' | 'ca' | 'crl'): SourceSpec | undefined {
  const fileOption = `${option}File`;
  const inline = ownValue(input, option);
  const path = optionalString(input, fileOption, PATH);
  if (inline !== undefined && path !== undefined) {
    throw new InvalidOptionError(`${PATH}.${option}`, `and "${fileOption}" are both set; give one of them`);
  }
  if (path !== undefined) return { kind: 'file', option: fileOption, path };
  if (inline === undefined) return undefined;
  if (!isPemInput(inline)) {
    throw new InvalidOptionError(`${PATH}.${option}`, 'must be PEM text: a string, a Buffer, or an array of them');
  }
  return { kind: 'inline', option, value: inline };
}

/** Refuses the options that would undo strictness, each with its own code. */
function refuseWeakeningOptions(input: Record<string, unknown>, profile: MtlsProfile): 'TLSv1.2' | 'TLSv1.3' {
  // Node's requestCert defaults to false: no client certificate would be asked for at all
  if (optionalBoolean(input, 'requestCert', PATH) === false) {
    throw configError(
      'ERR_MTLS_CONFIG_REQUEST_CERT',
      'option "requestCert"',
      'is false, so clients would not be asked for a certificate',
      'remove "requestCert" (mtlsOptions always sets it to true)',
    );
  }
  // With rejectUnauthorized false Node serves unverified clients with socket.authorized=false
  if (optionalBoolean(input, 'rejectUnauthorized', PATH) === false) {
    throw configError(
      'ERR_MTLS_CONFIG_REJECT_UNAUTHORIZED',
      'option "rejectUnauthorized"',
      'is false, so clients with an untrusted, expired or revoked certificate would be served',
      'remove "rejectUnauthorized" (mtlsOptions always sets it to true)',
    );
  }
  const minVersion = optionalString(input, 'minVersion', PATH);
  // RFC 8996 deprecates TLS 1.0/1.1; Mozilla 6.0 offers nothing below TLS 1.2
  if (minVersion === 'TLSv1' || minVersion === 'TLSv1.1' || minVersion === 'SSLv3') {
    throw configError(
      'ERR_MTLS_CONFIG_PROTOCOL_VERSION',
      'option "minVersion"',
      `is ${minVersion}, below TLS 1.2 (RFC 8996)`,
      'remove "minVersion" (profile "modern" = TLS 1.3), or use profile "intermediate" for TLS 1.2 clients',
    );
  }
  if (minVersion !== undefined && minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') {
    throw new InvalidOptionError(`${PATH}.minVersion`, "must be 'TLSv1.2' or 'TLSv1.3'");
  }
  if (minVersion === 'TLSv1.2' && profile === 'modern') {
    throw new InvalidOptionError(
      `${PATH}.minVersion`,
      "'TLSv1.2' conflicts with profile 'modern'; use profile 'intermediate'",
    );
  }
  // Static ticket keys survive setSecureContext: a client of a removed CA resumed with authorized=true
  if (ownValue(input, 'ticketKeys') !== undefined) {
    throw configError(
      'ERR_MTLS_CONFIG_TICKET_KEYS',
      'option "ticketKeys"',
      'fixes the session ticket keys, so sessions could resume after a CA or CRL change (cf. CVE-2025-68121)',
      'remove "ticketKeys"; each secure context then gets fresh random keys',
    );
  }
  // secureProtocol overrides minVersion/maxVersion and cannot express "TLS 1.3 only"
  if (ownValue(input, 'secureProtocol') !== undefined) {
    throw configError(
      'ERR_MTLS_CONFIG_SECURE_PROTOCOL',
      'option "secureProtocol"',
      'overrides the protocol versions chosen by the profile',
      'remove "secureProtocol" and choose profile "modern" or "intermediate"',
    );
  }
  // An SNI context built without `ca` verifies clients against the public root store
  if (ownValue(input, 'SNICallback') !== undefined) {
    throw configError(
      'ERR_MTLS_CONFIG_SNI_CALLBACK',
      'option "SNICallback"',
      'returns secure contexts mtlsOptions cannot check, which may trust the public root store for client certificates',
      'remove "SNICallback"; run one server per certificate, each built with mtlsOptions',
    );
  }
  // A partial chain makes any intermediate in the bundle an anchor, bypassing its root's constraints
  if (optionalBoolean(input, 'allowPartialTrustChain', PATH) === true) {
    throw configError(
      'ERR_MTLS_CONFIG_PARTIAL_CHAIN',
      'option "allowPartialTrustChain"',
      'makes non-root certificates of the bundle trust anchors',
      'remove "allowPartialTrustChain" and put the root CA in the bundle',
    );
  }
  return minVersion === 'TLSv1.2' || (minVersion === undefined && profile === 'intermediate') ? 'TLSv1.2' : 'TLSv1.3';
}

/**
 * Validates the shape of the input and refuses weakening options. Exported for the certificate watcher, which
 * compiles once and re-reads the sources on every reload.
 */
export function compileMtlsInput(input: unknown): CompiledMtlsInput & { readonly minVersion: 'TLSv1.2' | 'TLSv1.3' } {
  assertOptionsObject(input, PATH, KNOWN_KEYS);
  const profile = optionalChoice(input, 'profile', PATH, ['modern', 'intermediate'] as const) ?? 'modern';
  const minVersion = refuseWeakeningOptions(input, profile);
  const key = sourceSpec(input, 'key');
  const cert = sourceSpec(input, 'cert');
  const ca = sourceSpec(input, 'ca');
  const crl = sourceSpec(input, 'crl');
  const trustValue = ownValue(input, 'trust');
  if (key === undefined) throw new InvalidOptionError(`${PATH}.key`, 'is required: give "key" (PEM) or "keyFile"');
  if (cert === undefined) throw new InvalidOptionError(`${PATH}.cert`, 'is required: give "cert" (PEM) or "certFile"');
  // One source of anchors: a trust and a separate `ca` could disagree about who the server trusts
  if (trustValue !== undefined && (ca !== undefined || crl !== undefined)) {
    throw new InvalidOptionError(`${PATH}.trust`, 'replaces ca/caFile/crl/crlFile; give the trust or those, not both');
  }
  if (trustValue !== undefined) trustState(trustValue, `${PATH}.trust`);
  // Without `ca` Node verifies client certificates against its default store: any public CA's client is accepted
  if (ca === undefined && trustValue === undefined) {
    throw configError(
      'ERR_MTLS_CONFIG_NO_CA',
      'option "ca"',
      'is missing, so Node would accept client certificates from any CA in its default (public) trust store',
      'set "caFile" (or "ca") to the PEM bundle of the CA(s) that issue your client certificates',
    );
  }
  return Object.freeze({
    key,
    cert,
    ca,
    crl,
    trust: trustValue as Trust | undefined,
    passphrase: optionalString(input, 'passphrase', PATH),
    profile,
    minVersion,
    expiryWarningMs: (optionalInteger(input, 'expiryWarningDays', PATH, 0, 3650) ?? 14) * DAY_MS,
    sessionTimeout: optionalInteger(input, 'sessionTimeout', PATH, 1, 86_400) ?? 300,
    sessionResumption: optionalBoolean(input, 'sessionResumption', PATH) ?? true,
    handshakeTimeout: optionalInteger(input, 'handshakeTimeout', PATH, 1000, 120_000) ?? 10_000,
    onWarning: optionalFunction<MtlsWarningHook>(input, 'onWarning', PATH) ?? emitProcessWarning,
    clientCertificate:
      optionalChoice(input, 'clientCertificate', PATH, ['required', 'optional'] as const) ?? 'required',
  });
}

function readSource(spec: SourceSpec): PemSource {
  return spec.kind === 'file' ? fileSource(spec.option, spec.path) : inlineSource(spec.option, spec.value);
}

function loadPrivateKey(source: PemSource, passphrase: string | undefined): KeyObject {
  const block = pemBlocks(source.text).find((candidate) => candidate.type.endsWith('PRIVATE KEY'));
  if (block === undefined) {
    throw configError(
      'ERR_MTLS_CONFIG_MALFORMED_PEM',
      source.label,
      'contains no PEM private key',
      'provide the PEM key starting with "-----BEGIN PRIVATE KEY-----" (or EC/RSA PRIVATE KEY)',
    );
  }
  const encrypted = block.type === 'ENCRYPTED PRIVATE KEY' || block.pem.includes('Proc-Type: 4,ENCRYPTED');
  // Node has no TTY prompt: an encrypted key without its passphrase fails with an opaque OpenSSL error
  if (encrypted && passphrase === undefined) {
    throw configError(
      'ERR_MTLS_CONFIG_KEY_PASSPHRASE',
      source.label,
      'is encrypted and no passphrase was given',
      'set "passphrase", or deploy an unencrypted key with file mode 0600',
    );
  }
  try {
    return createPrivateKey(passphrase === undefined ? { key: block.pem } : { key: block.pem, passphrase });
  } catch (error) {
    if (encrypted) {
      throw configError(
        'ERR_MTLS_CONFIG_KEY_PASSPHRASE',
        source.label,
        'cannot be decrypted with the given passphrase',
        'set the passphrase the key was encrypted with',
        error,
      );
    }
    throw configError(
      'ERR_MTLS_CONFIG_MALFORMED_PEM',
      source.label,
      'does not parse as a private key',
      'replace it with the complete PEM key (a truncated or hand-edited file is the usual cause)',
      error,
    );
  }
}

function warnIfWorldReadable(spec: SourceSpec, warn: (warning: MtlsWarning) => void): void {
  // POSIX modes only; Windows ACLs are not mode bits
  if (spec.kind !== 'file' || process.platform === 'win32') return;
  let mode: number;
  try {
    mode = statSync(spec.path).mode;
  } catch {
    // The key was read a moment ago; a file swapped away since is the next reload's business
    return;
  }
  // Kubernetes secret volumes default to 0644: anyone in the container can read the key
  if ((mode & 0o004) !== 0) {
    warn({
      code: 'MTLS_KEY_WORLD_READABLE',
      message: `${spec.option} ${spec.path} is readable by every user (mode ${(mode & 0o777).toString(8)}); set it to 0600 (Kubernetes: defaultMode: 0400)`,
      file: spec.path,
    });
  }
}

/** Joins validated certificates back into one PEM string, dropping anything that was not a certificate. */
function joinPem(certificates: readonly LoadedCertificate[]): string {
  return `${certificates.map((cert) => cert.pem).join('\n')}\n`;
}

/**
 * Reads every source, runs every check and the OpenSSL dry run, and returns the strict options. Throws the first
 * refusal. Exported for the certificate watcher.
 */
export function buildMtlsOptions(
  compiled: ReturnType<typeof compileMtlsInput>,
  now: Date = new Date(),
): BuiltMtlsOptions {
  const warn = compiled.onWarning;
  const context: CheckContext = { now, expiryWarningMs: compiled.expiryWarningMs, warn };
  const keySource = readSource(compiled.key);
  const certSource = readSource(compiled.cert);
  const trust = compiled.trust;
  const caSource =
    trust === undefined ? readSource(compiled.ca as SourceSpec) : inlineSource('trust (anchors)', [...trust.caPems]);
  const crlSource =
    trust === undefined
      ? compiled.crl === undefined
        ? undefined
        : readSource(compiled.crl)
      : trust.crlPems.length === 0
        ? undefined
        : inlineSource('trust (CRLs)', [...trust.crlPems]);

  const privateKey = loadPrivateKey(keySource, compiled.passphrase);
  warnIfWorldReadable(compiled.key, warn);
  const chain = loadCertificates(certSource, 'the server certificate');
  checkServerChain(chain, privateKey, keySource.label, certSource, context);
  const bundle = loadCertificates(caSource, 'the client CA bundle');
  checkCaBundle(bundle, caSource, context);
  const crls = crlSource === undefined ? [] : checkCrls(crlSource, bundle, context);

  const trustDigest = digestOf([...bundle.map((cert) => cert.node.raw), ...crls.map((crl) => crl.der)]);
  const options: MtlsServerOptions = Object.freeze({
    key: keySource.text,
    ...(compiled.passphrase === undefined ? {} : { passphrase: compiled.passphrase }),
    cert: joinPem(chain),
    ca: joinPem(bundle),
    ...(crls.length === 0 ? {} : { crl: Object.freeze(crls.map((crl) => `${crl.pem}\n`)) as string[] }),
    requestCert: true,
    // Optional mode: certificate-less clients complete the handshake; the mode's guard refuses failed certificates.
    rejectUnauthorized: compiled.clientCertificate === 'required',
    minVersion: compiled.minVersion,
    maxVersion: 'TLSv1.3',
    ciphers: STRICT_CIPHERS,
    ecdhCurve: strictGroups(process.versions.openssl),
    // Every offered suite is AEAD with forward secrecy, so the server's order costs nothing and scanners (testssl -P)
    // rate "no server preference" HIGH; OpenSSL's PRIORITIZE_CHACHA keeps ChaCha20 for clients that list it first
    // (those without AES hardware, RFC 8446 §9.1 leaves the choice to the server).
    honorCipherOrder: true,
    secureOptions:
      constants.SSL_OP_NO_RENEGOTIATION |
      constants.SSL_OP_PRIORITIZE_CHACHA |
      (compiled.sessionResumption ? 0 : constants.SSL_OP_NO_TICKET),
    sessionTimeout: compiled.sessionTimeout,
    // Sessions resume only within the same trust: the context changes with every CA/CRL/profile change
    sessionIdContext: digestOf([
      Buffer.from(trustDigest),
      Buffer.from(`${compiled.profile}:${compiled.minVersion}:${compiled.clientCertificate}`),
    ]).slice(0, 32),
    handshakeTimeout: compiled.handshakeTimeout,
    // --trace-tls would otherwise turn tracing on for every socket
    enableTrace: false,
    SNICallback: compiled.clientCertificate === 'optional' ? optionalSniCallback : strictSniCallback,
  } as const);

  try {
    // The final gate: whatever OpenSSL itself refuses, before any server uses these options
    createSecureContext(options);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw configError(
      'ERR_MTLS_CONFIG_SECURE_CONTEXT',
      `${certSource.label} with ${keySource.label}`,
      `OpenSSL refused the configuration (${reason})`,
      'check that the certificate, key and CA files belong together and use supported algorithms',
      error,
    );
  }
  const leaf = chain[0] as LoadedCertificate;
  return Object.freeze({
    options,
    trustDigest,
    fingerprint256: leaf.node.fingerprint256.replaceAll(':', '').toLowerCase(),
    notAfter: new Date(leaf.parsed.notAfter),
  });
}

/**
 * Strict mutual-TLS server options, validated. Synchronous: it reads the files, checks them and throws a
 * {@link KoaMtlsError} (`ERR_MTLS_CONFIG_*`, message naming the file and the fix) or an {@link InvalidOptionError}
 * at startup, before the server exists.
 *
 * The options: TLS 1.3 only (`modern`, default) or TLS 1.2+ (`intermediate`); Mozilla 6.0 AEAD suites at
 * `@SECLEVEL=2`; groups by OpenSSL version (X25519MLKEM768 on OpenSSL ≥ 3.5); no renegotiation; explicit
 * `sessionTimeout`; a `sessionIdContext` derived from the trust anchors; a 10 s handshake timeout.
 *
 * Limits: no PKCS#12 (`pfx`) and no OpenSSL engines; one certificate per server (SNI contexts are refused).
 *
 * @example
 * ```ts
 * import https from 'node:https';
 * import Koa from 'koa';
 * import { mtlsOptions } from 'koa-mtls';
 *
 * const app = new Koa();
 * const server = https.createServer(
 *   mtlsOptions({ keyFile: '/etc/tls/tls.key', certFile: '/etc/tls/tls.crt', caFile: '/etc/tls/ca.crt' }),
 *   app.callback(),
 * );
 * server.listen(8443);
 * ```
 */
export function mtlsOptions(input: MtlsOptionsInput): MtlsServerOptions {
  const compiled = compileMtlsInput(input);
  const now = new Date();
  const built = buildMtlsOptions(compiled, now);
  // Process-wide findings, once at startup (a rotation does not repeat them)
  for (const warning of [
    nodeEndOfLifeWarning(process.version, now),
    keylogWarning(process.execArgv, process.env.NODE_OPTIONS),
    compiled.clientCertificate === 'optional' ? optionalClientCertificateWarning : undefined,
  ]) {
    if (warning !== undefined) compiled.onWarning(warning);
  }
  return built.options;
}
