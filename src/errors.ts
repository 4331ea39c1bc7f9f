/**
 * The koa-mtls error family: one base class, stable `code`s and an HTTP `status`.
 *
 * Two kinds of failure are kept apart (after jose and fastify-static):
 * - a caller's malformed options throw {@link InvalidOptionError} (a `TypeError`) from the factory, at startup;
 * - everything else (a refused configuration, a denied request) throws a {@link KoaMtlsError} with a code from
 *   {@link KoaMtlsErrorCode}. Client-facing messages are generic; details go to the audit hook and `cause`.
 *
 * @module errors
 */

/**
 * Every stable error code, by area. `switch (err.code)` narrows on it.
 *
 * @example
 * ```ts
 * import { KoaMtlsError } from 'koa-mtls';
 *
 * app.use(async (ctx, next) => {
 *   try {
 *     await next();
 *   } catch (err) {
 *     if (err instanceof KoaMtlsError && err.code === 'ERR_MTLS_PEER_REQUIRED') log.info({ path: ctx.path }, 'no certificate');
 *     throw err; // Koa answers err.status (401) with a generic body
 *   }
 * });
 * ```
 */
export type KoaMtlsErrorCode =
  // options (startup)
  | 'ERR_INVALID_OPTION'
  // posture (startup)
  | 'ERR_POSTURE_FAIL'
  // tls: server configuration refused by mtlsOptions (startup) or by certificate rotation
  | 'ERR_MTLS_CONFIG_NO_CA'
  | 'ERR_MTLS_CONFIG_REQUEST_CERT'
  | 'ERR_MTLS_CONFIG_REJECT_UNAUTHORIZED'
  | 'ERR_MTLS_CONFIG_PROTOCOL_VERSION'
  | 'ERR_MTLS_CONFIG_TICKET_KEYS'
  | 'ERR_MTLS_CONFIG_SECURE_PROTOCOL'
  | 'ERR_MTLS_CONFIG_SNI_CALLBACK'
  | 'ERR_MTLS_CONFIG_SNI_CONTEXT'
  | 'ERR_MTLS_CONFIG_PARTIAL_CHAIN'
  | 'ERR_MTLS_CONFIG_FILE_UNREADABLE'
  | 'ERR_MTLS_CONFIG_MALFORMED_PEM'
  | 'ERR_MTLS_CONFIG_KEY_PASSPHRASE'
  | 'ERR_MTLS_CONFIG_KEY_MISMATCH'
  | 'ERR_MTLS_CONFIG_CERT_EXPIRED'
  | 'ERR_MTLS_CONFIG_CERT_NOT_YET_VALID'
  | 'ERR_MTLS_CONFIG_CERT_EKU'
  | 'ERR_MTLS_CONFIG_CA_NOT_CA'
  | 'ERR_MTLS_CONFIG_CA_NO_ROOT'
  | 'ERR_MTLS_CONFIG_CA_NOT_VALID'
  | 'ERR_MTLS_CONFIG_WEAK_KEY'
  | 'ERR_MTLS_CONFIG_WEAK_SIGNATURE'
  | 'ERR_MTLS_CONFIG_CRL_MALFORMED'
  | 'ERR_MTLS_CONFIG_CRL_ISSUER'
  | 'ERR_MTLS_CONFIG_CRL_MISSING'
  | 'ERR_MTLS_CONFIG_SECURE_CONTEXT'
  // identity and authorization (per request)
  | 'ERR_MTLS_PEER_REQUIRED'
  | 'ERR_MTLS_PEER_FORBIDDEN'
  // authz
  | 'ERR_MTLS_POLICY_CHECK_FAILED'
  // sandboxed paths
  | 'ERR_SANDBOX_CONFIG'
  | 'ERR_SANDBOX_UNSUPPORTED'
  | 'ERR_SANDBOX_CLOSED'
  | 'ERR_SANDBOX_IO'
  | 'ERR_SANDBOX_BUSY'
  | 'ERR_SANDBOX_INVALID_PATH'
  | 'ERR_SANDBOX_NOT_FOUND'
  // development PKI and CLI
  | 'ERR_PKI_INVALID_INPUT'
  // SPIFFE Workload API (koa-mtls/spiffe)
  | 'ERR_SPIFFE_BAD_UPDATE'
  | 'ERR_SPIFFE_WORKLOAD_API'
  | 'ERR_SPIFFE_TIMEOUT'
  | 'ERR_SPIFFE_CLOSED';

/**
 * Options accepted by every {@link KoaMtlsError} constructor.
 *
 * @example
 * ```ts
 * import { KoaMtlsError, type KoaMtlsErrorOptions } from 'koa-mtls';
 *
 * const options: KoaMtlsErrorOptions = { status: 403, cause: new Error('peer on the deny list') };
 * const error = new KoaMtlsError('ERR_MTLS_PEER_FORBIDDEN', 'Forbidden', options);
 * ```
 */
export interface KoaMtlsErrorOptions {
  /** HTTP status a Koa app should answer with. Default 500. */
  readonly status?: number;
  /** The underlying error or detail, never shown to a client. */
  readonly cause?: unknown;
}

/**
 * Base class of every error koa-mtls throws on purpose (except option-shape `TypeError`s).
 *
 * `expose` follows Koa's rule: only 4xx messages are shown to a client, and koa-mtls keeps those messages generic.
 *
 * @example
 * ```ts
 * import { KoaMtlsError } from 'koa-mtls';
 * app.on('error', (err) => { if (err instanceof KoaMtlsError) log.warn({ code: err.code }); });
 * ```
 */
export class KoaMtlsError extends Error {
  /** Stable machine-readable code. */
  readonly code: KoaMtlsErrorCode;
  /** HTTP status for Koa. */
  readonly status: number;
  /** Whether Koa may show `message` to the client (true only for 4xx). */
  readonly expose: boolean;

  constructor(code: KoaMtlsErrorCode, message: string, options: KoaMtlsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.expose = this.status >= 400 && this.status < 500;
  }
}

/**
 * A caller's option has the wrong shape, an unknown key or an impossible value. Thrown by factories at startup.
 * It is a `TypeError` (the caller's bug) carrying `code: 'ERR_INVALID_OPTION'` and the option's `path`.
 *
 * @example
 * ```ts
 * import { InvalidOptionError, requirePeer } from 'koa-mtls';
 *
 * try {
 *   requirePeer(JSON.parse('{ "sna": {} }')); // a policy read from a file, with a typo
 * } catch (err) {
 *   if (err instanceof InvalidOptionError) console.error(err.path); // 'policy.sna'
 * }
 * ```
 */
export class InvalidOptionError extends TypeError {
  readonly code = 'ERR_INVALID_OPTION' as const;
  /** Where in the options the problem is, e.g. `policy.anyOf[1].san.dns[0]`. */
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`"${path}" ${problem}`);
    this.name = 'InvalidOptionError';
    this.path = path;
  }
}

/**
 * An `ERR_MTLS_CONFIG_*` code: a server configuration `mtlsOptions` or a certificate rotation refused.
 *
 * @example
 * ```ts
 * import { KoaMtlsError, type MtlsConfigErrorCode } from 'koa-mtls';
 * const refused = (err: unknown): err is KoaMtlsError & { code: MtlsConfigErrorCode } =>
 *   err instanceof KoaMtlsError && err.code.startsWith('ERR_MTLS_CONFIG_');
 * ```
 */
export type MtlsConfigErrorCode = Extract<KoaMtlsErrorCode, `ERR_MTLS_CONFIG_${string}`>;

/**
 * The one shape of a refused configuration (startup or rotation): a {@link KoaMtlsError} whose message is
 * `<where>: <problem>. Fix: <fix>` — operators read these at startup, so every message names what is wrong (a file
 * path or an option) and what to change.
 */
export function configError(
  code: KoaMtlsErrorCode,
  where: string,
  problem: string,
  fix: string,
  cause?: unknown,
): KoaMtlsError {
  return new KoaMtlsError(code, `${where}: ${problem}. Fix: ${fix}`, cause === undefined ? {} : { cause });
}
