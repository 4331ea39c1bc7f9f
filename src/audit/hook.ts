/**
 * The one audit hook of a process: `configureAudit({ onAudit })` sets it once at startup, and every middleware,
 * `onTlsClientRejected` and `watchCertificates` deliver to it. A factory's own `onAudit` option, when given, takes
 * its place for that factory only.
 *
 * Events about a request or a connection (a decision, a refused path, a rejected handshake) are always delivered:
 * each is a separate security event. Operational events (a refused rotation, an unreachable Workload API, a mount
 * warning) repeat while their cause lasts, so identical ones are rate-limited: the first is delivered, the identical
 * ones that follow within the window are counted, and the first one after the window carries that count as
 * `suppressed`.
 *
 * @module audit/hook
 */
import { assertOptionsObject, optionalFunction, optionalInteger } from '../options/validate.js';
import type { AuditEvent, AuditHook } from './event.js';

/**
 * Options of {@link configureAudit}.
 *
 * @example
 * ```ts
 * import { type AuditConfiguration, configureAudit } from 'koa-mtls';
 *
 * const audit: AuditConfiguration = { onAudit: (event) => log.info(event), repeatWindowMs: 300_000 };
 * configureAudit(audit);
 * ```
 */
export interface AuditConfiguration {
  /** Receives every audit event of every koa-mtls module that has no `onAudit` of its own. */
  readonly onAudit?: AuditHook;
  /**
   * Identical operational events (same kind, outcome, reason and detail) within this many milliseconds are
   * delivered once; the next one after the window carries `suppressed`. Default 60,000; `0` delivers every one.
   */
  readonly repeatWindowMs?: number;
}

interface Settings {
  readonly onAudit: AuditHook | undefined;
  readonly repeatWindowMs: number;
}

const DEFAULT_WINDOW_MS = 60_000;
/** How many distinct operational events the limiter remembers (oldest forgotten first). */
const REMEMBERED_EVENTS = 1000;

let settings: Settings = { onAudit: undefined, repeatWindowMs: DEFAULT_WINDOW_MS };
type RecentEvents = Map<string, { until: number; suppressed: number }>;
/** Per destination hook: two servers with their own hooks each hear about their own first refusal. */
let recentByHook = new WeakMap<AuditHook, RecentEvents>();
/** The bucket of events that reach no hook (their `onError` channel is limited the same way). */
const NO_HOOK: AuditHook = () => undefined;

/**
 * Sets the process-wide audit hook, once, at startup. Every koa-mtls middleware, `onTlsClientRejected` and
 * `watchCertificates` deliver their events to it unless they were given their own `onAudit`. Validated at once
 * (an unknown key or a non-function is an `InvalidOptionError`).
 *
 * @returns a function that restores the previous configuration (for tests).
 * @example
 * ```ts
 * import { configureAudit } from 'koa-mtls';
 *
 * configureAudit({ onAudit: (event) => console.log(JSON.stringify(event)) });
 * ```
 */
export function configureAudit(options: AuditConfiguration): () => void {
  assertOptionsObject(options, 'configureAudit', ['onAudit', 'repeatWindowMs']);
  const next: Settings = {
    onAudit: optionalFunction<AuditHook>(options, 'onAudit', 'configureAudit'),
    repeatWindowMs: optionalInteger(options, 'repeatWindowMs', 'configureAudit', 0, 86_400_000) ?? DEFAULT_WINDOW_MS,
  };
  const previous = settings;
  settings = next;
  recentByHook = new WeakMap();
  return () => {
    settings = previous;
    recentByHook = new WeakMap();
  };
}

/** The hook that receives a factory's events: its own `onAudit`, else the configured one (looked up per event). */
export function auditHook(local: AuditHook | undefined): AuditHook | undefined {
  return local ?? settings.onAudit;
}

function eventKey(event: AuditEvent): string {
  return JSON.stringify([event.kind, event.outcome, event.reason, event.detail ?? null]);
}

/**
 * Delivers an operational event (not tied to a request) to `local` or the configured hook, rate-limited.
 *
 * @returns whether the event was delivered; a caller with a second channel (e.g. `onError`) follows that verdict.
 */
export function emitOperationalAudit(local: AuditHook | undefined, event: AuditEvent, now = Date.now()): boolean {
  const window = settings.repeatWindowMs;
  const hook = auditHook(local);
  let delivered = event;
  if (window > 0) {
    const bucket = hook ?? NO_HOOK;
    let recent = recentByHook.get(bucket);
    if (recent === undefined) {
      recent = new Map();
      recentByHook.set(bucket, recent);
    }
    const key = eventKey(event);
    const seen = recent.get(key);
    if (seen !== undefined && now < seen.until) {
      seen.suppressed += 1;
      return false;
    }
    recent.delete(key);
    if (recent.size >= REMEMBERED_EVENTS) recent.delete(recent.keys().next().value as string);
    recent.set(key, { until: now + window, suppressed: 0 });
    if (seen !== undefined && seen.suppressed > 0) delivered = { ...event, suppressed: seen.suppressed };
  }
  hook?.(delivered);
  return true;
}
