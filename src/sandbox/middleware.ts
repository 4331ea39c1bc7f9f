/**
 * `sandboxPath({ sandbox, from })`: Koa middleware that validates a request-derived path against a sandbox and puts
 * the validated path and a safe `open()` on `ctx.state.sandboxed`.
 *
 * @module sandbox/middleware
 */
import type { FileHandle } from 'node:fs/promises';
import type { Context, DefaultState, Middleware, Next } from 'koa';
import { type AuditEvent, type AuditHook, type RequestIdResolver, requestIdFromHeader } from '../audit/event.js';
import { auditHook } from '../audit/hook.js';
import { InvalidOptionError, KoaMtlsError } from '../errors.js';
import { summarizePeer } from '../identity/summarize-peer.js';
import { assertOptionsObject, optionalBoolean, optionalFunction, ownValue } from '../options/validate.js';
import { attachRouteMetadata } from '../routes/route-metadata.js';
import type { SandboxOpenFlags } from './fd-walk.js';
import { HeldSandbox, type Sandbox } from './sandbox.js';
import { SandboxPathError } from './sandbox-error.js';
import { sendOpenedFile } from './send-file.js';
import type { OpenedFile } from './walk-io.js';

/**
 * What a handler finds on `ctx.state.sandboxed` once {@link sandboxPath} accepted the request's path.
 *
 * @example
 * ```ts
 * import type { RouterContext } from '@koa/router';
 * import type { SandboxedState } from 'koa-mtls';
 *
 * const download = async (ctx: RouterContext<SandboxedState>) => {
 *   const { path, send } = ctx.state.sandboxed;
 *   log.info({ path }, 'download');
 *   await send(); // the file as the body, with its length, type and modification time
 * };
 * ```
 */
export interface SandboxedRequestPath {
  /** The validated relative path (no `..`, no leading `/`, decoded exactly once). */
  readonly path: string;
  /**
   * Opens it inside the sandbox (default flags `'r'`). Throws a 404 `SandboxPathError` for anything that depends on
   * the filesystem, after reporting it to `onAudit`. The caller closes the handle (a read stream does, at its end).
   */
  open(flags?: SandboxOpenFlags): Promise<FileHandle>;
  /**
   * Opens it read-only and makes it the response body: `Content-Length` and `Last-Modified` from the opened file,
   * `Content-Type` from the requested name's extension unless already set, `X-Content-Type-Options: nosniff`. A file
   * up to 1 MiB is read in one call, a larger one streamed in 1 MiB reads; the descriptor is closed either way.
   * Refusals as in {@link SandboxedRequestPath.open}.
   */
  send(): Promise<void>;
}

declare module 'koa' {
  interface DefaultState {
    /** Set by `sandboxPath()`: the validated request path and a safe `open()`. */
    sandboxed?: SandboxedRequestPath;
  }
}

/**
 * Options of {@link sandboxPath}.
 *
 * @example
 * ```ts
 * import { createSandbox, type SandboxPathOptions } from 'koa-mtls';
 *
 * const sandbox = await createSandbox('/srv/files');
 * const options: SandboxPathOptions = { sandbox, from: (ctx) => ctx.query.file, onAudit: (event) => log.info(event) };
 * ```
 */
export interface SandboxPathOptions {
  /** A sandbox from `createSandbox`. */
  readonly sandbox: Sandbox;
  /**
   * Where the path comes from: a router param (`ctx => ctx.params.file`, already decoded once), a query value
   * (`ctx => ctx.query.f`; repeated keys give an array, which is refused) or a header (`ctx => ctx.get('x-file')`,
   * raw). Anything but a string is a 400.
   */
  readonly from: (ctx: Context) => unknown;
  /** Decode the value once with `decodeURIComponent` (for raw sources such as `ctx.path`); 400 on failure. Default `false`. */
  readonly decode?: boolean;
  /** Receives every decision (`kind: 'sandbox'`): rejections with a reason code, and successful opens. */
  readonly onAudit?: AuditHook;
  /** How to find the request id for audit events. Default: the `x-request-id` header. */
  readonly requestId?: RequestIdResolver;
}

const MAX_AUDIT_INPUT = 200;

/** A bounded, operator-only rendering of a rejected input. */
function describeInput(input: unknown): string {
  if (typeof input === 'string') return input.slice(0, MAX_AUDIT_INPUT);
  if (Array.isArray(input)) return 'array';
  return input === null ? 'null' : typeof input;
}

/**
 * The state {@link sandboxPath} guarantees to the middleware after it: an accepted path to open.
 *
 * @example
 * ```ts
 * import type { RouterContext } from '@koa/router';
 * import type { SandboxedState } from 'koa-mtls';
 *
 * const download = async (ctx: RouterContext<SandboxedState>) => {
 *   ctx.body = (await ctx.state.sandboxed.open()).createReadStream();
 * };
 * ```
 */
export interface SandboxedState {
  readonly sandboxed: SandboxedRequestPath;
}

/**
 * Validates a path taken from the request against a sandbox, then exposes it on `ctx.state.sandboxed`.
 *
 * - 400 `ERR_SANDBOX_INVALID_PATH` when the input breaks a lexical rule (it depends on the input only);
 * - 404 `ERR_SANDBOX_NOT_FOUND` when an allow/deny glob refuses it here, or later when `ctx.state.sandboxed.open()`
 *   finds anything wrong on disk (missing, escaping or refused symlink, not a regular file): one uniform answer.
 *
 * Responses carry only the generic status text, never the root or the input. Every rejection, and every successful
 * open, reaches `onAudit` with a stable reason code; a throwing hook fails the request.
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { createSandbox, sandboxPath } from 'koa-mtls';
 * const files = await createSandbox('/srv/files', { allow: ['**\/*.pdf'] });
 * const router = new Router();
 * router.get('/files/:name', sandboxPath({ sandbox: files, from: (ctx) => ctx.params.name }), async (ctx) => {
 *   await ctx.state.sandboxed!.send();
 * });
 * ```
 */
export function sandboxPath(options: SandboxPathOptions): Middleware<DefaultState> & Middleware<SandboxedState> {
  assertOptionsObject(options, 'options', ['sandbox', 'from', 'decode', 'onAudit', 'requestId']);
  const given = ownValue(options, 'sandbox');
  // Fail closed: a look-alike object could accept any path in `check`, so only createSandbox's own class passes.
  if (!(given instanceof HeldSandbox)) throw new InvalidOptionError('options.sandbox', 'must come from createSandbox');
  const sandbox: Sandbox = given;
  const from = optionalFunction<(ctx: Context) => unknown>(options, 'from', 'options');
  if (from === undefined) throw new InvalidOptionError('options.from', 'is required');
  const decode = optionalBoolean(options, 'decode', 'options') ?? false;
  const onAudit = optionalFunction<AuditHook>(options, 'onAudit', 'options');
  const requestId = optionalFunction<RequestIdResolver>(options, 'requestId', 'options') ?? requestIdFromHeader;

  const audit = (ctx: Context, event: Omit<AuditEvent, 'kind' | 'requestId'>): void => {
    const hook = auditHook(onAudit);
    if (hook === undefined) return;
    const id = requestId(ctx);
    const peer = ctx.state.peer;
    hook({
      kind: 'sandbox',
      ...event,
      ...(id === undefined ? {} : { requestId: id }),
      ...(peer === undefined ? {} : { peer: summarizePeer(peer) }),
    });
  };

  const middleware = async function sandboxedPath(ctx: Context, next: Next): Promise<void> {
    let input = from(ctx);
    let path: string;
    try {
      // Exactly one decode, and only when the source is raw: a second one would turn `..%252f` into `../`.
      if (decode && typeof input === 'string') input = decodeMalformedAs400(input);
      path = sandbox.check(input).path;
    } catch (err) {
      if (err instanceof SandboxPathError) {
        audit(ctx, {
          outcome: err.status === 400 ? 'reject' : 'deny',
          reason: err.reason,
          detail: { input: describeInput(input) },
        });
      }
      throw err;
    }
    /** Opens with `openFile`, auditing the refusal or the open; a throwing hook closes what was opened. */
    const openAudited = async <O extends { readonly handle: OpenedFile; readonly resolved: string }>(
      flags: SandboxOpenFlags,
      openFile: () => Promise<O>,
    ): Promise<O> => {
      let opened: O;
      try {
        opened = await openFile();
      } catch (err) {
        if (err instanceof KoaMtlsError) audit(ctx, { outcome: 'deny', ...openFailure(err), detail: { path, flags } });
        throw err;
      }
      try {
        audit(ctx, { outcome: 'allow', reason: 'OPENED', detail: { path, resolved: opened.resolved, flags } });
      } catch (err) {
        // A throwing hook fails the request; the descriptor must not leak with it.
        await opened.handle.close();
        throw err;
      }
      return opened;
    };
    ctx.state.sandboxed = Object.freeze({
      path,
      async open(flags: SandboxOpenFlags = 'r'): Promise<FileHandle> {
        const options = flags === 'r' ? undefined : { flags };
        return (await openAudited(flags, () => sandbox.openDetailed(path, options))).handle;
      },
      async send(): Promise<void> {
        // The genuine sandbox's descriptor form: on a synchronous walk a small file is served with no threadpool trip.
        await sendOpenedFile(ctx, await openAudited('r', () => given.openDescriptor(path)), path);
      },
    });
    await next();
  };

  return attachRouteMetadata(middleware, {
    kind: 'sandboxPath',
    root: sandbox.root,
    symlinks: sandbox.symlinks,
    mode: sandbox.mode,
    allow: sandbox.allow,
    deny: sandbox.deny,
  });
}

/** The audit reason of a failed open: the refusal's reason, or what went wrong on the server's side. */
function openFailure(err: KoaMtlsError): Pick<AuditEvent, 'reason'> {
  if (err instanceof SandboxPathError) return { reason: err.reason };
  // Out of descriptors (EMFILE/ENFILE): a 503 the client may retry, named so an operator can raise the limit.
  if (err.code === 'ERR_SANDBOX_BUSY') return { reason: 'DESCRIPTORS_EXHAUSTED' };
  return { reason: err.code };
}

/** `decodeURIComponent` once; a malformed escape is a 400, never a pass-through (koajs/router's safe decode is not). */
function decodeMalformedAs400(input: string): string {
  try {
    return decodeURIComponent(input);
  } catch (err) {
    throw new SandboxPathError(400, 'PATH_MALFORMED_ENCODING', err);
  }
}
