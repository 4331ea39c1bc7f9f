/**
 * The one `AsyncLocalStorage` of the permission module: the request a violation belongs to, or the marker of
 * koa-mtls's own `permission.has()` probes (Node 24 publishes a refused `has()` like a violation).
 *
 * @module permission
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from 'koa';
import type { AuditHook } from '../audit/event.js';

/**
 * The request being handled, as {@link permissionAudit} entered it.
 */
export interface RequestScope {
  readonly ctx: Context;
  readonly onAudit: AuditHook | undefined;
  readonly outcome: 'deny' | 'warn';
  hookError?: unknown;
}

/**
 * The marker store of a probe.
 */
export const PROBE: unique symbol = Symbol('koa-mtls permission probe');

/**
 * The store itself.
 */
export const scopeStorage = new AsyncLocalStorage<RequestScope | typeof PROBE>();

/**
 * Runs `fn` in the probe context: violations it causes are not reported.
 */
export function probing<T>(fn: () => T): T {
  return scopeStorage.run(PROBE, fn);
}
