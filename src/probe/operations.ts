/**
 * The operations a probe exercises, from the public route inventory (`describeRoutes` output), from an OpenAPI 3.x
 * document, or from both merged, each with the inputs that could name a file.
 *
 * @module probe/operations
 */
import type { RouteDescription } from '../routes/describe-routes.js';
import { openApiTemplate, patternVariants } from '../routes/path-pattern.js';
import type { DocumentOperation, DocumentParameter, OperationGuard } from './openapi-document.js';

/** Where a probe value goes in the request. */
export type SlotLocation = 'path' | 'query' | 'header';

/** One input of an operation that could name a file. `guessed` when no inventory or document declared it. */
export interface ProbeSlot {
  readonly in: SlotLocation;
  readonly name: string;
  readonly guessed: boolean;
}

/** One method on one path template. */
export interface ProbeOperation {
  readonly method: string;
  /** OpenAPI path template, `/files/{name}`. */
  readonly path: string;
  readonly slots: readonly ProbeSlot[];
  readonly guard: OperationGuard | undefined;
  readonly sources: readonly ('app' | 'openapi')[];
}

/** Methods `router.all()` answers that the probe knows how to send. */
const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

// Query and header names that usually carry a file, a path or a resource name (OWASP WSTG-ATHZ-01 input vectors).
const FILE_LIKE_NAME =
  /file|path|name|dir|folder|doc|template|page|include|src|source|resource|download|attachment|image|img|report|log|key|url|uri|location|target|dest|asset|view|layout|theme|lang|locale/i;

/** The key two operations share when they differ only in parameter names: `GET /files/{}`. */
export function operationKey(method: string, path: string): string {
  return `${method} ${path.replace(/\{[^}]*\}/g, '{}')}`;
}

function canNameFile(parameter: DocumentParameter): boolean {
  if (parameter.hasEnum) return false;
  if (parameter.type !== undefined && parameter.type !== 'string') return false;
  // Every free-form path segment can name a file; queries and headers only when their name says so.
  return parameter.in === 'path' || FILE_LIKE_NAME.test(parameter.name);
}

/** Operations of a route inventory; routes with a `RegExp` path are skipped (no template to fill). */
export function operationsFromRoutes(routes: readonly RouteDescription[]): ProbeOperation[] {
  const operations: ProbeOperation[] = [];
  for (const route of routes) {
    const variants = route.pathKind === 'pattern' ? patternVariants(route.path) : undefined;
    if (variants === undefined) continue;
    const methods = route.methods.includes('ALL') ? ALL_METHODS : route.methods;
    for (const variant of variants) {
      const { path, params } = openApiTemplate(variant);
      const slots = params.map((name): ProbeSlot => ({ in: 'path', name, guessed: false }));
      for (const method of methods) {
        operations.push({
          method,
          path,
          slots,
          guard: { guarded: route.guarded, flags: route.flags },
          sources: ['app'],
        });
      }
    }
  }
  return operations;
}

/** Operations of an OpenAPI document, with the parameters that could name a file as slots. */
export function operationsFromDocument(document: readonly DocumentOperation[]): ProbeOperation[] {
  return document.map((operation) => ({
    method: operation.method,
    path: operation.path,
    slots: operation.parameters
      .filter((parameter) => parameter.in !== 'cookie' && canNameFile(parameter))
      .map((parameter) => ({ in: parameter.in as SlotLocation, name: parameter.name, guessed: false })),
    guard: operation.guard,
    sources: ['openapi'],
  }));
}

function mergeSlots(...lists: (readonly ProbeSlot[])[]): ProbeSlot[] {
  const slots = new Map<string, ProbeSlot>();
  for (const list of lists)
    for (const slot of list) if (!slots.has(`${slot.in}:${slot.name}`)) slots.set(`${slot.in}:${slot.name}`, slot);
  return [...slots.values()];
}

/**
 * Merges operations by method and template (parameter names aside). The app's inventory wins for the guard (it is
 * what the router really runs); the document adds the parameters it declares. Operations the app alone knows get
 * `guessQuery` as guessed query slots, because a router does not declare the query names its handlers read.
 */
export function mergeOperations(
  fromApp: readonly ProbeOperation[],
  fromDocument: readonly ProbeOperation[],
  guessQuery: readonly string[],
): ProbeOperation[] {
  const merged = new Map<string, ProbeOperation>();
  for (const operation of [...fromApp, ...fromDocument]) {
    const key = operationKey(operation.method, operation.path);
    const seen = merged.get(key);
    merged.set(
      key,
      seen === undefined
        ? operation
        : {
            ...seen,
            slots: mergeSlots(seen.slots, operation.slots),
            guard: seen.guard ?? operation.guard,
            sources: [...new Set([...seen.sources, ...operation.sources])],
          },
    );
  }
  const guessed = guessQuery.map((name): ProbeSlot => ({ in: 'query', name, guessed: true }));
  return [...merged.values()].map((operation) =>
    operation.sources.includes('openapi') ? operation : { ...operation, slots: mergeSlots(operation.slots, guessed) },
  );
}
