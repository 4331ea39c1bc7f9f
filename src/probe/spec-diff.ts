/**
 * The security an OpenAPI document declares (a `mutualTLS` scheme on each operation) against the guards the router
 * really runs (`describeRoutes`): operations in one and not the other, and operations whose security differs.
 *
 * @module probe/spec-diff
 */
import type { RouteDescription } from '../routes/describe-routes.js';
import { printable } from './evidence.js';
import type { DocumentOperation } from './openapi-document.js';
import { operationKey, operationsFromRoutes } from './operations.js';

/**
 * - `declared-not-enforced`: the document requires mutualTLS, the router runs no enforcing policy (any certificate
 *   the CA trusts calls it, whatever the document promises);
 * - `enforced-not-declared`: the router enforces a policy the document does not declare;
 * - `only-in-document`: the document describes an operation the router does not have;
 * - `only-in-router`: the router has an operation the document does not describe.
 */
export type SpecDifferenceKind =
  | 'declared-not-enforced'
  | 'enforced-not-declared'
  | 'only-in-document'
  | 'only-in-router';

/** One difference between the document and the router. */
export interface SpecDifference {
  readonly kind: SpecDifferenceKind;
  readonly method: string;
  readonly path: string;
}

const KIND_ORDER: readonly SpecDifferenceKind[] = [
  'declared-not-enforced',
  'enforced-not-declared',
  'only-in-document',
  'only-in-router',
];

/** Compares the document's operations with the router's routes, in a stable order. */
export function diffSecurity(
  document: readonly DocumentOperation[],
  routes: readonly RouteDescription[],
): SpecDifference[] {
  const fromRouter = new Map<string, { method: string; path: string; guarded: boolean }>();
  for (const operation of operationsFromRoutes(routes)) {
    const key = operationKey(operation.method, operation.path);
    const guarded = operation.guard?.guarded === true;
    // Two routes on one method and path: the first one registered answers (@koa/router runs the first match).
    if (!fromRouter.has(key)) fromRouter.set(key, { method: operation.method, path: operation.path, guarded });
  }
  const differences: SpecDifference[] = [];
  const matched = new Set<string>();
  for (const operation of document) {
    const key = operationKey(operation.method, operation.path);
    const routed = fromRouter.get(key);
    const { method, path } = operation;
    if (routed === undefined) {
      // HEAD is answered by every GET route; a document may list it on its own.
      if (method === 'HEAD' && fromRouter.has(operationKey('GET', path))) continue;
      differences.push({ kind: 'only-in-document', method, path });
      continue;
    }
    matched.add(key);
    if (operation.requiresMutualTls && !routed.guarded)
      differences.push({ kind: 'declared-not-enforced', method, path });
    if (!operation.requiresMutualTls && routed.guarded)
      differences.push({ kind: 'enforced-not-declared', method, path });
  }
  for (const [key, routed] of fromRouter) {
    if (!matched.has(key)) differences.push({ kind: 'only-in-router', method: routed.method, path: routed.path });
  }
  return differences.sort(
    (a, b) =>
      KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
      a.path.localeCompare(b.path) ||
      a.method.localeCompare(b.method),
  );
}

const KIND_TEXT: Readonly<Record<SpecDifferenceKind, string>> = {
  'declared-not-enforced': 'document requires mutualTLS, router has no enforcing policy',
  'enforced-not-declared': 'router enforces a policy, document declares no mutualTLS',
  'only-in-document': 'in the document, not in the router',
  'only-in-router': 'in the router, not in the document',
};

/** The differences as a table, or a one-line "no differences". */
export function formatSpecDiff(differences: readonly SpecDifference[], documentName: string): string {
  if (differences.length === 0) return `No differences between ${printable(documentName)} and the router.\n`;
  const rows = [
    ['METHOD', 'PATH', 'DIFFERENCE'],
    ...differences.map((difference) => [difference.method, printable(difference.path), KIND_TEXT[difference.kind]]),
  ];
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const lines = rows.map(
    (row) => `${(row[0] ?? '').padEnd(widths[0] ?? 0)}  ${(row[1] ?? '').padEnd(widths[1] ?? 0)}  ${row[2]}`,
  );
  return `${lines.join('\n')}\n\n${differences.length} difference(s) between ${printable(documentName)} and the router\n`;
}
