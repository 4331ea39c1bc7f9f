/**
 * The route inventory as a plain-text table for terminals and CI logs.
 *
 * @module routes/format-routes
 */
import type { RouteDescription } from './describe-routes.js';

// C0/C1 controls and bidi overrides in a path or policy could rewrite the reviewer's terminal (CVE-2021-42574 class).
const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

function safe(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

function policyCell(route: RouteDescription): string {
  const cells = [
    ...route.policies.map((policy) => ({ policy, partial: false })),
    ...route.partialPolicies.map((policy) => ({ policy, partial: true })),
  ];
  if (cells.length === 0) return route.anonymous ? 'anonymous' : '-';
  return cells
    .map(
      ({ policy, partial }) =>
        `${policy.policy}${policy.mode === 'report' ? ' [report]' : ''} (${policy.scope}${partial ? ', partial' : ''})`,
    )
    .join(' + ');
}

function sandboxCell(route: RouteDescription): string {
  if (route.sandboxes.length === 0) return '-';
  return route.sandboxes.map((sandbox) => `${sandbox.root} (symlinks: ${sandbox.symlinks})`).join(' + ');
}

/**
 * Renders routes as an aligned table (METHOD, PATH, POLICY, SANDBOX, FLAGS) followed by a one-line summary.
 */
export function formatRoutes(routes: readonly RouteDescription[]): string {
  const header = ['METHOD', 'PATH', 'POLICY', 'SANDBOX', 'FLAGS'];
  const rows = routes.map((route) =>
    [
      route.methods.join(','),
      route.pathKind === 'regexp' ? `/${route.path}/` : route.path,
      policyCell(route),
      sandboxCell(route),
      route.flags.length === 0 ? '-' : route.flags.join(','),
    ].map(safe),
  );
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const unguarded = routes.filter((route) => !route.guarded && !route.anonymous).length;
  const anonymous = routes.filter((route) => route.anonymous).length;
  const summary = `${routes.length} route${routes.length === 1 ? '' : 's'}, ${unguarded} without an enforcing policy${anonymous === 0 ? '' : `, ${anonymous} declared anonymous`}`;
  return `${[line(header), ...rows.map(line)].join('\n')}\n\n${summary}\n`;
}
