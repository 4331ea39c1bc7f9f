/**
 * Strict mutual-TLS server options from the SPIFFE Workload API, kept current in memory: the server's X509-SVID and
 * key never touch the disk, and every update passes the same checks and OpenSSL dry run as `mtlsOptions` before
 * any server's secure context changes. Trust-domain bundles (own and federated) go to a trust object so that
 * `peerCertificate` can bind each SPIFFE ID to its own domain's bundle.
 *
 * @module spiffe/spiffe-mtls
 */
import type { Server } from 'node:tls';
import type { AuditHook } from '../audit/event.js';
import { emitOperationalAudit } from '../audit/hook.js';
import { InvalidOptionError, KoaMtlsError } from '../errors.js';
import {
  assertOptionsObject,
  isPlainObject,
  optionalBoolean,
  optionalFunction,
  optionalInteger,
  optionalString,
} from '../options/validate.js';
import {
  type CertificateRotation,
  type ContextRotation,
  createContextRotation,
  type RotationHooks,
  reportRotationRefused,
} from '../tls/context-rotation.js';
import {
  type BuiltMtlsOptions,
  buildMtlsOptions,
  compileMtlsInput,
  type MtlsOptionsInput,
  type MtlsServerOptions,
  SERVER_POLICY_KEYS,
} from '../tls/mtls-options.js';
import { createTrust, type Trust } from '../trust/index.js';
import { updateTrustDomains } from './trust-domains.js';
import {
  createWorkloadApiClient,
  type WorkloadApiClient,
  type WorkloadApiClientOptions,
} from './workload-api-client.js';
import { readX509Context, type X509Context } from './x509-context.js';

/**
 * The `mtlsOptions` settings that apply to an SVID-based server (the material itself comes from the agent).
 *
 * @example
 * ```ts
 * import { type SpiffeTlsSettings, spiffeMtls } from 'koa-mtls/spiffe';
 *
 * const tls: SpiffeTlsSettings = { profile: 'intermediate', handshakeTimeout: 5000 };
 * const spiffe = await spiffeMtls({ tls });
 * ```
 */
export type SpiffeTlsSettings = Pick<
  MtlsOptionsInput,
  'profile' | 'expiryWarningDays' | 'sessionTimeout' | 'sessionResumption' | 'handshakeTimeout' | 'onWarning'
>;

/**
 * Options of {@link spiffeMtls}.
 *
 * @example
 * ```ts
 * import { type SpiffeMtlsOptions, spiffeMtls } from 'koa-mtls/spiffe';
 *
 * const options: SpiffeMtlsOptions = {
 *   address: 'unix:///run/spire/agent.sock',
 *   firstUpdateTimeoutMs: 10_000,
 *   onError: (error) => log.warn(error, 'SPIFFE update refused'),
 * };
 * const spiffe = await spiffeMtls(options);
 * ```
 */
export interface SpiffeMtlsOptions {
  /** `unix:///path/to/agent.sock` or `tcp://IP:port`. Default: the `SPIFFE_ENDPOINT_SOCKET` environment variable. */
  readonly address?: string;
  /** Serve the SVID with this operator hint. Default: the first SVID (the workload's default identity). */
  readonly hint?: string;
  /**
   * The trust that receives the bundle of every trust domain (own and federated) after each applied update. Default:
   * one created from the first update, available as {@link SpiffeMtls.trust}.
   */
  readonly trust?: Trust;
  /** `mtlsOptions` settings: profile, session and handshake limits, expiry warnings. */
  readonly tls?: SpiffeTlsSettings;
  /** How long to wait for the first valid update, in ms, 100–600000. Default 30000. */
  readonly firstUpdateTimeoutMs?: number;
  /** First reconnect delay after the stream fails, in ms. Default 1000. See `createWorkloadApiClient`. */
  readonly retryInitialMs?: number;
  /** Longest reconnect delay, in ms. Default 30000. */
  readonly retryMaxMs?: number;
  /** After a bundle change, close idle keep-alive connections so clients re-handshake. Default true. */
  readonly closeIdleConnections?: boolean;
  /** Called after each applied rotation, once per watched server. */
  readonly onRotated?: (rotation: CertificateRotation) => void;
  /** Called for each refused update (the old context stays) and each stream failure. Default `process.emitWarning`. */
  readonly onError?: (error: Error) => void;
  /**
   * Receives `tls` audit events: `allow`/`TLS_CERTIFICATES_ROTATED`, `reject`/`TLS_ROTATION_REFUSED` (a bad update,
   * kept out), and `warn`/`SPIFFE_WORKLOAD_API_UNAVAILABLE` (the stream failed; the last good material stays).
   */
  readonly onAudit?: AuditHook;
}

/**
 * The state a readiness probe wants.
 *
 * @example
 * ```ts
 * import type { SpiffeMtls, SpiffeMtlsStatus } from 'koa-mtls/spiffe';
 *
 * const readiness = (spiffe: SpiffeMtls) => {
 *   const status: SpiffeMtlsStatus = spiffe.status();
 *   return { ready: status.lastError === undefined, spiffeId: status.spiffeId, notAfter: status.notAfter };
 * };
 * ```
 */
export interface SpiffeMtlsStatus {
  readonly spiffeId: string;
  readonly fingerprint256: string;
  readonly notAfter: Date;
  /** The trust domains whose bundles are in use, sorted. */
  readonly trustDomains: readonly string[];
  /** The last refused update or stream failure since the last applied update. */
  readonly lastError: Error | undefined;
}

/**
 * Server options that follow the Workload API.
 *
 * @example
 * ```ts
 * import { peerCertificate } from 'koa-mtls';
 * import { type SpiffeMtls, spiffeMtls } from 'koa-mtls/spiffe';
 *
 * const spiffe: SpiffeMtls = await spiffeMtls();
 * app.use(peerCertificate({ trust: spiffe.trust })); // a SPIFFE ID counts only under its own domain's bundle
 * ```
 */
export interface SpiffeMtls {
  /** The current strict options; pass them whole to `https.createServer` (or http2/tls), then call `watch`. */
  readonly options: MtlsServerOptions;
  /**
   * The trust holding every trust domain's bundle, kept current: pass it to `peerCertificate({ trust })` so that a
   * SPIFFE ID is believed only under its own domain's bundle.
   */
  readonly trust: Trust;
  /** Takes over `server`'s secure context: every later valid update is applied to it, without a restart. */
  watch(server: Server): void;
  status(): SpiffeMtlsStatus;
  /** Stops the stream and every timer; the servers keep their last context. Idempotent. */
  close(): void;
}

const KNOWN_KEYS = [
  'address',
  'hint',
  'trust',
  'tls',
  'firstUpdateTimeoutMs',
  'retryInitialMs',
  'retryMaxMs',
  'closeIdleConnections',
  'onRotated',
  'onError',
  'onAudit',
] as const;
const CLIENT_KEYS = ['address', 'retryInitialMs', 'retryMaxMs'] as const;
const PATH = 'spiffeMtls.options';

function defaultOnError(error: Error): void {
  process.emitWarning(error.message, {
    type: 'KoaMtlsWarning',
    code: error instanceof KoaMtlsError ? error.code : 'ERR_SPIFFE_WORKLOAD_API',
  });
}

type Compiled = ReturnType<typeof compileMtlsInput>;

/** The settings, validated once: `compileMtlsInput` checks them exactly as `mtlsOptions` does. */
function compileSettings(tls: unknown): Compiled {
  if (tls !== undefined) assertOptionsObject(tls, `${PATH}.tls`, SERVER_POLICY_KEYS);
  // The material is a placeholder here: it is replaced by each update before anything is read
  return compileMtlsInput({ ...(isPlainObject(tls) ? tls : {}), key: '-', cert: '-', ca: '-' });
}

/** Every check of `mtlsOptions` and the OpenSSL dry run, on the material of one update. */
function build(compiled: Compiled, context: X509Context): BuiltMtlsOptions {
  const { svid } = context;
  return buildMtlsOptions({
    ...compiled,
    key: { kind: 'inline', option: `x509_svid_key of ${svid.spiffeId}`, value: svid.key },
    cert: { kind: 'inline', option: `x509_svid of ${svid.spiffeId}`, value: svid.chain },
    // OpenSSL gets every domain's anchors; the binding of an ID to its own domain is the trust object's job
    ca: { kind: 'inline', option: 'Workload API bundles', value: Object.values(context.trustDomains).flat() },
    crl: context.crls.length === 0 ? undefined : { kind: 'inline', option: 'Workload API crl', value: context.crls },
  });
}

/**
 * Connects to the SPIFFE Workload API, waits for the first valid X509-SVID update, and returns strict mutual-TLS
 * server options built from it, in memory. `watch(server)` then keeps the server current: each later update is
 * validated (mandatory fields, the SVID's ID in its certificate, key agreement, validity, strength, the OpenSSL dry
 * run) and applied with `server.setSecureContext()`; a bad update keeps the old context and is reported. When the
 * agent is unreachable or restarts, the last good material stays in use and the stream reconnects with backoff.
 *
 * The server trusts the bundles of all trust domains at the TLS layer. Pass a trust object as `trust` and the same
 * object to `peerCertificate`, so that a SPIFFE ID is accepted only under its own domain's bundle.
 *
 * Rejects with `ERR_SPIFFE_TIMEOUT` when no valid update arrives in time, or `ERR_SPIFFE_WORKLOAD_API` when the
 * agent refuses the request as malformed; throws {@link InvalidOptionError} for bad options.
 *
 * @example
 * ```ts
 * import https from 'node:https';
 * import Koa from 'koa';
 * import { spiffeMtls } from 'koa-mtls/spiffe';
 *
 * const app = new Koa();
 * const spiffe = await spiffeMtls({ address: 'unix:///run/spire/agent.sock' });
 * const server = https.createServer(spiffe.options, app.callback());
 * spiffe.watch(server);
 * server.on('close', () => spiffe.close());
 * server.listen(8443);
 * ```
 */
export async function spiffeMtls(options: SpiffeMtlsOptions = {}): Promise<SpiffeMtls> {
  assertOptionsObject(options, PATH, KNOWN_KEYS);
  const hint = optionalString(options, 'hint', PATH);
  let trust = options.trust as Trust | undefined;
  if (trust !== undefined && typeof (trust as { update?: unknown } | null)?.update !== 'function') {
    throw new InvalidOptionError(`${PATH}.trust`, 'must be a trust object (with an update method)');
  }
  const compiled = compileSettings(options.tls);
  const firstUpdateTimeoutMs = optionalInteger(options, 'firstUpdateTimeoutMs', PATH, 100, 600_000) ?? 30_000;
  const hooks: RotationHooks = {
    closeIdleConnections: optionalBoolean(options, 'closeIdleConnections', PATH) ?? true,
    onRotated: optionalFunction<(rotation: CertificateRotation) => void>(options, 'onRotated', PATH),
    onError: optionalFunction<(error: Error) => void>(options, 'onError', PATH) ?? defaultOnError,
    onAudit: optionalFunction<AuditHook>(options, 'onAudit', PATH),
  };
  // The client validates these three itself
  const client: WorkloadApiClient = createWorkloadApiClient(
    Object.fromEntries(
      CLIENT_KEYS.flatMap((key) => (options[key] === undefined ? [] : [[key, options[key]]])),
    ) as WorkloadApiClientOptions,
  );

  let current: { built: BuiltMtlsOptions; context: X509Context } | undefined;
  let trustDomainsKey = '';
  let lastError: Error | undefined;
  let closed = false;
  const rotations: ContextRotation[] = [];

  const refuse = (error: Error): void => {
    lastError = error;
    reportRotationRefused(error, hooks);
  };

  /** One message: read, build, feed the trust object, rotate every server. Any refusal keeps the previous state. */
  const apply = (message: Readonly<Record<string, unknown>>): void => {
    let context: X509Context;
    let built: BuiltMtlsOptions;
    try {
      context = readX509Context(message, hint);
      built = build(compiled, context);
    } catch (error) {
      refuse(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const nextKey = JSON.stringify(Object.entries(context.trustDomains).sort(([a], [b]) => a.localeCompare(b)));
    if (nextKey !== trustDomainsKey) {
      try {
        // The first update creates the trust unless the caller brought one
        if (trust === undefined) trust = createTrust({ trustDomains: context.trustDomains });
        else updateTrustDomains(trust, context.trustDomains);
      } catch (error) {
        // The trust object keeps its old state on a throw; the servers must then keep theirs too
        refuse(
          new KoaMtlsError('ERR_SPIFFE_BAD_UPDATE', 'Workload API update refused by the trust object', {
            cause: error,
          }),
        );
        return;
      }
    }
    trustDomainsKey = nextKey;
    current = { built, context };
    lastError = undefined;
    for (const rotation of rotations) rotation.rotate(() => built);
  };

  const stop = await new Promise<() => void>((resolve, reject) => {
    let settled = false;
    let stopStream: (() => void) | undefined;
    const fail = (error: KoaMtlsError): void => {
      settled = true;
      clearTimeout(timer);
      client.close();
      reject(error);
    };
    const timer = setTimeout(() => {
      const cause = lastError;
      fail(
        new KoaMtlsError(
          'ERR_SPIFFE_TIMEOUT',
          `no valid X509-SVID from the Workload API at ${client.target} within ${firstUpdateTimeoutMs} ms` +
            (cause === undefined ? '' : ` (last problem: ${cause.message})`),
          cause === undefined ? {} : { cause },
        ),
      );
    }, firstUpdateTimeoutMs);
    stopStream = client.watchX509Svids({
      onUpdate(message) {
        if (settled && current === undefined) return;
        apply(message);
        if (!settled && current !== undefined) {
          settled = true;
          clearTimeout(timer);
          resolve(stopStream ?? (() => undefined));
        }
      },
      onError(error, retrying) {
        if (!settled && !retrying) {
          fail(error);
          return;
        }
        lastError = error;
        let delivered = true;
        try {
          // The client retries with backoff while the agent is away: the same outage is reported once per window.
          delivered = emitOperationalAudit(hooks.onAudit, {
            kind: 'tls',
            outcome: 'warn',
            reason: 'SPIFFE_WORKLOAD_API_UNAVAILABLE',
            detail: { code: error.code, message: error.message, retrying },
          });
        } finally {
          if (delivered) hooks.onError(error);
        }
      },
    });
  });

  const state = (): { built: BuiltMtlsOptions; context: X509Context; trust: Trust } => {
    // Unreachable by construction: the promise resolves only after the first applied update
    if (current === undefined || trust === undefined) {
      throw new KoaMtlsError('ERR_SPIFFE_CLOSED', 'no Workload API update applied');
    }
    return { ...current, trust };
  };

  return Object.freeze({
    get options(): MtlsServerOptions {
      return state().built.options;
    },
    get trust(): Trust {
      return state().trust;
    },
    watch(server: Server): void {
      if (closed) throw new KoaMtlsError('ERR_SPIFFE_CLOSED', 'spiffeMtls: watch() after close()');
      if (typeof server?.setSecureContext !== 'function') {
        throw new InvalidOptionError('spiffeMtls.watch.server', 'must be a TLS server (https, http2 secure or tls)');
      }
      rotations.push(createContextRotation(server, state().built, hooks));
    },
    status(): SpiffeMtlsStatus {
      const { built, context } = state();
      return {
        spiffeId: context.svid.spiffeId,
        fingerprint256: built.fingerprint256,
        notAfter: built.notAfter,
        trustDomains: Object.keys(context.trustDomains).sort(),
        lastError,
      };
    },
    close(): void {
      if (closed) return;
      closed = true;
      stop();
      client.close();
    },
  });
}
