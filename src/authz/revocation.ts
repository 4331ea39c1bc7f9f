/**
 * The revocation hook: the user's `isRevoked(peer)` (a CRL lookup, OCSP, a deny-list), bounded in time and cached by
 * certificate fingerprint. A throw, a non-boolean answer or a time-out is "unknown", which denies unless the caller
 * opted into fail-open (HarperFast/harper#2380 failed open silently).
 */
import { InvalidOptionError } from '../errors.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import { assertOptionsObject, optionalBoolean, optionalInteger, ownValue } from '../options/validate.js';

/**
 * Revocation options.
 *
 * @example
 * ```ts
 * import type { RevocationOptions } from 'koa-mtls';
 *
 * const revokedSerials = new Set<string>(); // kept current from the CA's CRL or OCSP responder
 * const revocation: RevocationOptions = {
 *   isRevoked: async (peer) => revokedSerials.has(peer.serialNumber),
 *   timeoutMs: 500,
 * };
 * ```
 */
export interface RevocationOptions {
  /** `true` when the peer's certificate is revoked. Sync or async. */
  readonly isRevoked: (peer: PeerIdentity) => boolean | Promise<boolean>;
  /** How long to wait for an answer. Default 1000 ms (1–60000). */
  readonly timeoutMs?: number;
  /** How long an answer is reused for the same certificate. Default 60000 ms; 0 disables the cache. */
  readonly cacheTtlMs?: number;
  /** How many certificates' answers are kept (oldest evicted first). Default 1000. */
  readonly cacheSize?: number;
  /** Allow when the hook throws or times out. Default `false` (deny). */
  readonly failOpen?: boolean;
}

/** What the revocation check concluded. */
export type RevocationStatus = 'good' | 'revoked' | 'error' | 'timeout';

/** A compiled revocation checker. */
export interface RevocationChecker {
  readonly failOpen: boolean;
  check(peer: PeerIdentity): RevocationStatus | Promise<RevocationStatus>;
}

const TIMED_OUT = Symbol('timed out');

/**
 * Validates revocation options and builds the checker, once, at startup.
 */
export function createRevocationChecker(value: unknown, path: string): RevocationChecker {
  assertOptionsObject(value, path, ['isRevoked', 'timeoutMs', 'cacheTtlMs', 'cacheSize', 'failOpen']);
  const isRevoked = ownValue(value, 'isRevoked');
  if (typeof isRevoked !== 'function') throw new InvalidOptionError(`${path}.isRevoked`, 'must be a function');
  const hook = isRevoked as RevocationOptions['isRevoked'];
  const timeoutMs = optionalInteger(value, 'timeoutMs', path, 1, 60_000) ?? 1000;
  const cacheTtlMs = optionalInteger(value, 'cacheTtlMs', path, 0, 86_400_000) ?? 60_000;
  const cacheSize = optionalInteger(value, 'cacheSize', path, 1, 1_000_000) ?? 1000;
  const failOpen = optionalBoolean(value, 'failOpen', path) ?? false;
  const cache = new Map<string, { readonly status: 'good' | 'revoked'; readonly expires: number }>();
  const inFlight = new Map<string, Promise<RevocationStatus>>();

  const remember = (key: string, status: RevocationStatus): RevocationStatus => {
    // Only answers are cached; an error or time-out is retried on the next request.
    if (cacheTtlMs === 0 || (status !== 'good' && status !== 'revoked')) return status;
    cache.delete(key);
    cache.set(key, { status, expires: Date.now() + cacheTtlMs });
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
    return status;
  };
  const interpret = (answer: unknown): RevocationStatus => {
    if (answer === TIMED_OUT) return 'timeout';
    // Anything but a boolean is not an answer (fail closed).
    return answer === true ? 'revoked' : answer === false ? 'good' : 'error';
  };
  const ask = async (peer: PeerIdentity): Promise<RevocationStatus> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, TIMED_OUT);
    });
    try {
      return interpret(await Promise.race([hook(peer), timeout]));
    } catch {
      return 'error';
    } finally {
      clearTimeout(timer);
    }
  };

  return Object.freeze({
    failOpen,
    check(peer: PeerIdentity): RevocationStatus | Promise<RevocationStatus> {
      const key = peer.fingerprint256;
      const cached = cache.get(key);
      if (cached !== undefined) {
        if (cached.expires > Date.now()) return cached.status;
        cache.delete(key);
      }
      let pending = inFlight.get(key);
      if (pending === undefined) {
        pending = ask(peer).then((status) => {
          inFlight.delete(key);
          return remember(key, status);
        });
        inFlight.set(key, pending);
      }
      return pending;
    },
  });
}
