/**
 * Findings of a probe run, in the three categories API scanners use (OWASP API Security Top 10 2023: API8 security
 * misconfiguration / input validation, API3 broken object property level authorization, API10 unsafe consumption).
 *
 * @module probe/findings
 */

/** The category of a finding. */
export type FindingCategory = 'input-validation' | 'property-authorization' | 'unsafe-consumption';

/** How bad a finding is; `--fail-on` compares against it. */
export type FindingLevel = 'error' | 'warning';

/** A stable rule identifier (also the SARIF `ruleId`). */
export type RuleId =
  | 'host-content-via-input'
  | 'host-path-in-error'
  | 'unguarded-route-reached'
  | 'report-only-route-reached'
  | 'partial-policy-route-reached'
  | 'host-data-on-benign-request';

/** What a rule means and how to fix what it finds. */
export interface Rule {
  readonly id: RuleId;
  readonly category: FindingCategory;
  readonly level: FindingLevel;
  readonly title: string;
  readonly fix: string;
}

/** Every rule, in report order. */
export const RULES: Readonly<Record<RuleId, Rule>> = Object.freeze({
  'host-content-via-input': {
    id: 'host-content-via-input',
    category: 'input-validation',
    level: 'error',
    title: 'A request-named path returned the content of a host file',
    fix: 'Open request-named files through sandboxPath (a createSandbox root): it refuses traversal, encodings and absolute paths; never path.join(root, input).',
  },
  'host-path-in-error': {
    id: 'host-path-in-error',
    category: 'input-validation',
    level: 'warning',
    title: 'An error response names an absolute host path',
    fix: 'Answer a uniform 404 for anything that depends on the filesystem (sandboxPath does) and send fs errors to logs, not to clients.',
  },
  'unguarded-route-reached': {
    id: 'unguarded-route-reached',
    category: 'property-authorization',
    level: 'warning',
    title: 'The probe identity reached a route without an enforcing policy',
    fix: 'Add an enforcing requirePeer policy before the handler (any certificate the CA trusts calls this route now).',
  },
  'report-only-route-reached': {
    id: 'report-only-route-reached',
    category: 'property-authorization',
    level: 'warning',
    title: "The probe identity reached a route whose policy is in mode: 'report'",
    fix: "Switch the route's requirePeer policy to mode: 'enforce' once its reports are clean.",
  },
  'partial-policy-route-reached': {
    id: 'partial-policy-route-reached',
    category: 'property-authorization',
    level: 'warning',
    title: 'The probe identity reached a route that a router-level guard covers only in part',
    fix: 'Attach requirePeer to the route itself, or use router.use(guard) without a path on an unprefixed router.',
  },
  'host-data-on-benign-request': {
    id: 'host-data-on-benign-request',
    category: 'unsafe-consumption',
    level: 'error',
    title: 'A route returns host data for a benign request',
    fix: 'Remove the route, or serve only files inside a sandboxPath root: host files such as /etc/hosts describe the infrastructure to every caller.',
  },
});

/** One finding: the operation, the request that showed it, the evidence and the fix. */
export interface Finding {
  readonly rule: RuleId;
  readonly category: FindingCategory;
  readonly level: FindingLevel;
  /** `GET /files/{name}`. */
  readonly operation: string;
  /** `query name`, `path name`, `header x-file`; absent for a request without a probed input. */
  readonly input?: string;
  readonly request: {
    readonly method: string;
    readonly path: string;
    readonly form?: string;
    readonly target?: string;
  };
  readonly status: number;
  /** The matching marker or signature (`signature:passwd`), or `status:200` for an authorization finding. */
  readonly marker: string;
  /** Truncated, escaped response excerpt. */
  readonly evidence: string;
  readonly fix: string;
}

const CATEGORY_ORDER: readonly FindingCategory[] = ['input-validation', 'property-authorization', 'unsafe-consumption'];

/** Report order: category, then operation, then input. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      CATEGORY_ORDER.indexOf(a.category) - CATEGORY_ORDER.indexOf(b.category) ||
      a.operation.localeCompare(b.operation) ||
      (a.input ?? '').localeCompare(b.input ?? '') ||
      a.rule.localeCompare(b.rule),
  );
}
