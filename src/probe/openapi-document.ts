/**
 * Reads an OpenAPI 3.x document (JSON or YAML) for the probe and for `koa-mtls routes --openapi <spec>`, and lists its
 * operations with their parameters and declared security.
 *
 * @module probe/openapi-document
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';

/** An OpenAPI 3.x document as read from disk: only the parts the probe looks at are typed. */
export interface OpenApiInput {
  readonly openapi: string;
  readonly paths: Record<string, unknown>;
  readonly [key: string]: unknown;
}

/** One parameter of a document operation (path-item and operation parameters merged, §4.8.10 "parameters"). */
export interface DocumentParameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly type: string | undefined;
  readonly hasEnum: boolean;
}

/** What guards an operation: a document's `x-koa-mtls` extension (as `openapiSecurity` writes it) or `describeRoutes`. */
export interface OperationGuard {
  readonly guarded: boolean;
  readonly flags: readonly string[];
}

/** One operation of the document. */
export interface DocumentOperation {
  readonly method: string;
  readonly path: string;
  readonly parameters: readonly DocumentParameter[];
  /** Every security alternative of the operation names a `mutualTLS` scheme (OpenAPI 3.1 §4.8.30). */
  readonly requiresMutualTls: boolean;
  readonly guard: OperationGuard | undefined;
}

/** Path Item fields that are operations (OpenAPI 3.x §4.8.9). */
const OPERATIONS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Thrown for a document that cannot be read or is not OpenAPI 3.x; the CLI prints it as a usage error. */
export class OpenApiInputError extends Error {
  override readonly name = 'OpenApiInputError';
}

/**
 * Parses document text: JSON when it starts with `{`, YAML 1.2 otherwise (JSON is YAML, but JSON.parse is stricter).
 * The YAML parser keeps its alias-expansion limit, so a "billion laughs" document fails instead of filling memory.
 */
export function parseOpenApi(text: string, where: string): OpenApiInput {
  let value: unknown;
  try {
    value = text.trimStart().startsWith('{') ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new OpenApiInputError(`${where}: not JSON or YAML (${(error as Error).message.split('\n')[0]})`);
  }
  if (!isRecord(value) || typeof value.openapi !== 'string' || !/^3\.\d+\.\d+/.test(value.openapi)) {
    throw new OpenApiInputError(`${where}: not an OpenAPI 3.x document (needs "openapi: 3.x.y")`);
  }
  if (!isRecord(value.paths)) throw new OpenApiInputError(`${where}: has no "paths" object`);
  return value as OpenApiInput;
}

/** Reads and parses an OpenAPI 3.x document file. */
export async function readOpenApi(file: string): Promise<OpenApiInput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new OpenApiInputError(`${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseOpenApi(text, file);
}

/** Follows one local `#/components/…` reference; anything else (remote, missing) reads as absent. */
function dereference(document: OpenApiInput, value: unknown): unknown {
  if (!isRecord(value) || typeof value.$ref !== 'string') return value;
  if (!value.$ref.startsWith('#/')) return undefined;
  let node: unknown = document;
  for (const raw of value.$ref.slice(2).split('/')) {
    // RFC 6901 §4: `~1` is `/`, `~0` is `~`, in this order.
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    node = isRecord(node) && Object.hasOwn(node, key) ? node[key] : undefined;
  }
  return node;
}

function parametersOf(document: OpenApiInput, ...lists: unknown[]): DocumentParameter[] {
  const byKey = new Map<string, DocumentParameter>();
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      const parameter = dereference(document, entry);
      if (!isRecord(parameter) || typeof parameter.name !== 'string') continue;
      const location = parameter.in;
      if (location !== 'path' && location !== 'query' && location !== 'header' && location !== 'cookie') continue;
      const schema = dereference(document, parameter.schema);
      const type = isRecord(schema) && typeof schema.type === 'string' ? schema.type : undefined;
      const hasEnum = isRecord(schema) && (Array.isArray(schema.enum) || schema.const !== undefined);
      // Operation parameters override path-item ones with the same name and location (§4.8.10).
      byKey.set(`${location}:${parameter.name}`, { name: parameter.name, in: location, type, hasEnum });
    }
  }
  return [...byKey.values()];
}

function mutualTlsSchemes(document: OpenApiInput): ReadonlySet<string> {
  const components = isRecord(document.components) ? document.components : {};
  const schemes = isRecord(components.securitySchemes) ? components.securitySchemes : {};
  const names = new Set<string>();
  for (const [name, scheme] of Object.entries(schemes)) {
    const resolved = dereference(document, scheme);
    if (isRecord(resolved) && resolved.type === 'mutualTLS') names.add(name);
  }
  return names;
}

function requiresMutualTls(security: unknown, schemes: ReadonlySet<string>): boolean {
  // An empty list, or an empty alternative `{}`, lets a caller in without any scheme (§4.8.30).
  if (!Array.isArray(security) || security.length === 0) return false;
  return security.every(
    (alternative) => isRecord(alternative) && Object.keys(alternative).some((name) => schemes.has(name)),
  );
}

function guardOf(operation: Record<string, unknown>): OperationGuard | undefined {
  const extension = operation['x-koa-mtls'];
  if (!isRecord(extension) || typeof extension.guarded !== 'boolean' || !Array.isArray(extension.flags)) {
    return undefined;
  }
  return { guarded: extension.guarded, flags: extension.flags.filter((flag) => typeof flag === 'string') };
}

/**
 * The path of the first Server Object's URL (§4.8.5), with its variables at their defaults: document paths are
 * relative to it (`servers: [{ url: /v1 }]` and `/items` mean `/v1/items`). Empty when there is none.
 */
function basePath(document: OpenApiInput): string {
  const [server] = Array.isArray(document.servers) ? document.servers : [];
  if (!isRecord(server) || typeof server.url !== 'string') return '';
  const variables = isRecord(server.variables) ? server.variables : {};
  const url = server.url.replace(/\{([^}]*)\}/g, (_, name: string) => {
    const variable = variables[name];
    return isRecord(variable) && typeof variable.default === 'string' ? variable.default : '';
  });
  try {
    return new URL(url, 'https://base.invalid').pathname.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

/** Every operation of the document, in document order, with paths under the document's server base path. */
export function documentOperations(document: OpenApiInput): DocumentOperation[] {
  const schemes = mutualTlsSchemes(document);
  const base = basePath(document);
  const operations: DocumentOperation[] = [];
  for (const [path, rawItem] of Object.entries(document.paths)) {
    const item = dereference(document, rawItem);
    if (!isRecord(item)) continue;
    for (const method of OPERATIONS) {
      const operation = item[method];
      if (!isRecord(operation)) continue;
      const security = operation.security === undefined ? document.security : operation.security;
      operations.push({
        method: method.toUpperCase(),
        path: `${base}${path}`,
        parameters: parametersOf(document, item.parameters, operation.parameters),
        requiresMutualTls: requiresMutualTls(security, schemes),
        guard: guardOf(operation),
      });
    }
  }
  return operations;
}
