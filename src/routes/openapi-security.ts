/**
 * `openapiSecurity(router, { document? })`: an OpenAPI 3.1 `mutualTLS` security scheme, per-operation `security` and
 * an `x-koa-mtls` extension describing the identity policy and sandbox of every route.
 *
 * @module routes/openapi-security
 */
import { InvalidOptionError } from '../errors.js';
import { assertOptionsObject, isPlainObject, optionalBoolean, optionalString, ownValue } from '../options/validate.js';
import { describeRoutes, type RouteDescription, type RouteFlag, type RoutePolicy } from './describe-routes.js';
import { openApiTemplate, patternVariants } from './path-pattern.js';

/**
 * Options of {@link openapiSecurity}.
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { type OpenApiSecurityOptions, openapiSecurity } from 'koa-mtls';
 *
 * const baseDocument = { openapi: '3.1.0', info: { title: 'Items', version: '1.0.0' } };
 * const options: OpenApiSecurityOptions = { document: baseDocument, schemeName: 'clientCertificate' };
 * const document = openapiSecurity(new Router(), options);
 * ```
 */
export interface OpenApiSecurityOptions {
  /** An OpenAPI 3.1 document to merge into. It is deep-copied, never mutated. Default: a minimal document. */
  readonly document?: Readonly<Record<string, unknown>>;
  /** The key of the security scheme under `components.securitySchemes`. Default `'mutualTLS'`. */
  readonly schemeName?: string;
  /** Put sandbox roots (real filesystem paths) into `x-koa-mtls`. Default `false`: API documents get published. */
  readonly includeSandboxRoots?: boolean;
}

/**
 * The `x-koa-mtls` extension on each operation.
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { type KoaMtlsOperationExtension, openapiSecurity } from 'koa-mtls';
 *
 * const document = openapiSecurity(new Router());
 * const ext = document.paths['/items/{id}']?.get as Record<string, unknown> | undefined;
 * const koaMtls = ext?.['x-koa-mtls'] as KoaMtlsOperationExtension | undefined;
 * ```
 */
export interface KoaMtlsOperationExtension {
  /** At least one enforcing policy guards every request (see `RouteDescription.guarded`). */
  readonly guarded: boolean;
  /** Declared with `allowAnonymous()` (see `RouteDescription.anonymous`). */
  readonly anonymous: boolean;
  /** The route as @koa/router knows it (`/items/:id`). */
  readonly route: string;
  readonly policies: readonly RoutePolicy[];
  /** Router-level policies that cover only some requests (see `RouteDescription.partialPolicies`). */
  readonly partialPolicies: readonly RoutePolicy[];
  readonly sandboxes: readonly {
    readonly symlinks: string;
    readonly mode: string;
    readonly allow: readonly string[] | null;
    readonly deny: readonly string[];
    readonly scope: string;
    readonly root?: string;
  }[];
  readonly flags: readonly RouteFlag[];
}

/**
 * An OpenAPI 3.1 document (the parts this module writes are typed; the rest is kept as given).
 *
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { type OpenApiDocument, openapiSecurity } from 'koa-mtls';
 *
 * const document: OpenApiDocument = openapiSecurity(new Router());
 * document.paths['/items/{id}']?.get;
 * ```
 */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, unknown>>;
  readonly components: Record<string, unknown> & { readonly securitySchemes: Record<string, unknown> };
  readonly [key: string]: unknown;
}

/** HTTP methods that are OpenAPI 3.1 Path Item operations (§4.8.9). */
const OPERATIONS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const RESPONSES = {
  guarded: {
    '401': { description: 'No verified client certificate (ERR_MTLS_PEER_REQUIRED).' },
    '403': { description: 'The client certificate does not satisfy the route policy (ERR_MTLS_PEER_FORBIDDEN).' },
  },
  sandboxed: {
    '400': { description: 'The requested path breaks a path rule (ERR_SANDBOX_INVALID_PATH).' },
    '404': { description: 'Not found, or refused by the sandbox (ERR_SANDBOX_NOT_FOUND).' },
  },
} as const;

function operationsOf(route: RouteDescription): readonly string[] {
  if (route.methods.includes('ALL')) return OPERATIONS;
  return OPERATIONS.filter((operation) => route.methods.includes(operation.toUpperCase()));
}

function extensionOf(route: RouteDescription, includeRoots: boolean): KoaMtlsOperationExtension {
  return {
    guarded: route.guarded,
    anonymous: route.anonymous,
    route: route.path,
    policies: route.policies.map((policy) => ({ ...policy })),
    partialPolicies: route.partialPolicies.map((policy) => ({ ...policy })),
    sandboxes: route.sandboxes.map(({ root, ...sandbox }) => ({
      ...sandbox,
      allow: sandbox.allow === null ? null : [...sandbox.allow],
      deny: [...sandbox.deny],
      ...(includeRoots ? { root } : {}),
    })),
    flags: [...route.flags],
  };
}

function objectAt(parent: Record<string, unknown>, key: string, path: string): Record<string, unknown> {
  const value = parent[key];
  if (value === undefined) {
    const created: Record<string, unknown> = {};
    parent[key] = created;
    return created;
  }
  if (!isPlainObject(value)) throw new InvalidOptionError(path, 'must be an object');
  return value;
}

function copyDocument(document: unknown, schemeName: string): Record<string, unknown> {
  if (document === undefined) {
    return { openapi: '3.1.0', info: { title: 'Route inventory', version: '0.0.0' }, paths: {}, components: {} };
  }
  // `mutualTLS` security schemes exist from OpenAPI 3.1 on.
  if (!isPlainObject(document) || typeof document.openapi !== 'string' || !document.openapi.startsWith('3.1.')) {
    throw new InvalidOptionError('options.document', 'must be an OpenAPI 3.1 document (openapi: "3.1.x")');
  }
  let copy: Record<string, unknown>;
  try {
    copy = structuredClone(document);
  } catch (error) {
    throw new InvalidOptionError('options.document', `must be plain data (${(error as Error).name})`);
  }
  const schemes = objectAt(
    objectAt(copy, 'components', 'options.document.components'),
    'securitySchemes',
    'options.document.components.securitySchemes',
  );
  const existing = schemes[schemeName];
  // Never repurpose a scheme the document already uses for something else.
  if (existing !== undefined && (!isPlainObject(existing) || existing.type !== 'mutualTLS')) {
    throw new InvalidOptionError(
      `options.document.components.securitySchemes.${schemeName}`,
      'exists and is not a mutualTLS scheme',
    );
  }
  return copy;
}

function addPathParameters(pathItem: Record<string, unknown>, params: readonly string[], where: string): void {
  if (params.length === 0) return;
  const existing = pathItem.parameters;
  if (existing !== undefined && !Array.isArray(existing)) throw new InvalidOptionError(where, 'must be an array');
  const parameters: unknown[] = existing ?? [];
  for (const name of params) {
    const declared = parameters.some((p) => isPlainObject(p) && p.in === 'path' && p.name === name);
    // OpenAPI 3.1 §4.8.12.1: every templated path segment must have a required path parameter.
    if (!declared) parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
  }
  pathItem.parameters = parameters;
}

function addSecurity(operation: Record<string, unknown>, schemeName: string, anonymous: boolean): void {
  const existing = operation.security;
  // Alternatives are OR-ed and the scheme must hold in each one: the TLS layer asks every caller for a certificate.
  const alternatives = Array.isArray(existing) && existing.length > 0 ? existing : [{}];
  operation.security = alternatives.map((requirement) => ({
    ...(isPlainObject(requirement) ? requirement : {}),
    [schemeName]: [],
  }));
  // OpenAPI 3.1 §4.8.30: an empty requirement makes security optional, as allowAnonymous() does for this route.
  if (anonymous) (operation.security as unknown[]).push({});
}

function addResponses(operation: Record<string, unknown>, route: RouteDescription, where: string): void {
  const wanted = {
    ...(route.guarded ? RESPONSES.guarded : {}),
    ...(route.sandboxes.length > 0 ? RESPONSES.sandboxed : {}),
  };
  if (Object.keys(wanted).length === 0) return;
  const responses = objectAt(operation, 'responses', where);
  for (const [status, response] of Object.entries(wanted)) {
    if (responses[status] === undefined) responses[status] = { ...response };
  }
}

/**
 * Builds the OpenAPI 3.1 security description of a router (or of every router on a Koa app): a `mutualTLS` security
 * scheme, `security` on every operation, the 401/403 (policy) and 400/404 (sandbox) responses, and an `x-koa-mtls`
 * extension with the route's policies, sandboxes and flags from {@link describeRoutes}.
 *
 * Without `document` it returns a minimal, valid OpenAPI 3.1 document; with one it returns a merged deep copy: its
 * operations keep everything they had, their `security` alternatives each gain the scheme, and missing operations
 * and path parameters are added. Koa paths become OpenAPI templates (`:id` and `*rest` → `{id}`, `{rest}`; an
 * optional group `{/:format}` gives one path with it and one without).
 *
 * Limitations: routes with a `RegExp` path and methods OpenAPI has no operation for (e.g. `PROPFIND`) are listed in
 * the document-level `x-koa-mtls.unlisted` instead; when two routes share a method and path, the first one
 * registered describes the operation. Sandbox roots are left out unless `includeSandboxRoots`.
 *
 * @throws InvalidOptionError for a target that is not a router or app, or a malformed option or document.
 * @example
 * ```ts
 * import { readFile, writeFile } from 'node:fs/promises';
 * import Router from '@koa/router';
 * import { openapiSecurity } from 'koa-mtls';
 *
 * const router = new Router();
 * const base = JSON.parse(await readFile('openapi.json', 'utf8'));
 * const document = openapiSecurity(router, { document: base });
 * await writeFile('openapi.json', JSON.stringify(document, null, 2));
 * ```
 */
export function openapiSecurity(target: unknown, options: OpenApiSecurityOptions = {}): OpenApiDocument {
  assertOptionsObject(options, 'options', ['document', 'schemeName', 'includeSandboxRoots']);
  const schemeName = optionalString(options, 'schemeName', 'options') ?? 'mutualTLS';
  if (schemeName === '') throw new InvalidOptionError('options.schemeName', 'must not be empty');
  const includeRoots = optionalBoolean(options, 'includeSandboxRoots', 'options') ?? false;
  const routes = describeRoutes(target);
  const document = copyDocument(ownValue(options, 'document'), schemeName);

  const schemes = objectAt(
    objectAt(document, 'components', 'options.document.components'),
    'securitySchemes',
    'options.document.components.securitySchemes',
  );
  if (schemes[schemeName] === undefined) {
    schemes[schemeName] = {
      type: 'mutualTLS',
      description:
        'A client certificate verified during the TLS handshake. Which identities each operation accepts is in its x-koa-mtls extension.',
    };
  }
  const paths = objectAt(document, 'paths', 'options.document.paths');
  const described = new Set<string>();
  const unlisted: { methods: string[]; path: string }[] = [];
  for (const route of routes) {
    const operations = operationsOf(route);
    const variants = route.pathKind === 'pattern' ? patternVariants(route.path) : undefined;
    const others = route.methods.filter(
      (method) => method !== 'ALL' && !operations.includes(method.toLowerCase()) && method !== 'HEAD',
    );
    if (variants === undefined || others.length > 0) {
      unlisted.push({ methods: variants === undefined ? [...route.methods] : others, path: route.path });
    }
    if (variants === undefined || operations.length === 0) continue;
    for (const variant of variants) {
      const { path, params } = openApiTemplate(variant);
      const where = `options.document.paths.${path}`;
      const pathItem = objectAt(paths, path, where);
      addPathParameters(pathItem, params, `${where}.parameters`);
      for (const method of operations) {
        const key = `${method} ${path}`;
        if (described.has(key)) continue;
        described.add(key);
        const operation = objectAt(pathItem, method, `${where}.${method}`);
        addSecurity(operation, schemeName, route.anonymous);
        addResponses(operation, route, `${where}.${method}.responses`);
        operation['x-koa-mtls'] = extensionOf(route, includeRoots);
      }
    }
  }
  if (unlisted.length > 0) document['x-koa-mtls'] = { unlisted };
  return document as unknown as OpenApiDocument;
}
