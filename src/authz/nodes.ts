/**
 * The compiled policy tree. Every node is built at startup with its verdicts pre-made, so a request that needs no
 * user `check` evaluates synchronously and allocates nothing but its normalized peer view.
 *
 * Logic is three-valued (Kleene): a condition that met a peer value it could not read (an invalid DNS SAN, a URI
 * path with an escaped `/`) and matched nothing is *indeterminate*. It denies like a plain "no", and `not` of it
 * denies too, so a deny rule cannot be escaped by giving it a value it cannot judge.
 */
import type { Context } from 'koa';
import { KoaMtlsError } from '../errors.js';
import type { AnyConditionKind } from './conditions.js';
import { type IndexedEntry, PatternSet, UNDETERMINED } from './pattern-set.js';
import type { PeerView } from './peer-view.js';
import type { PeerCheck } from './policy.js';

/**
 * The outcome of one node: whether it held, and the policy path that decided. The root's verdict is also the
 * decision's outcome (a reason and a rule), so a decision allocates nothing and reads one object.
 */
export interface Verdict {
  readonly matched: boolean;
  /** The rule that allowed (`policy.anyOf[1]`), or the first condition that failed (`policy.anyOf[1].san.dns`). */
  readonly rule: string;
  /** Did not hold only because a peer value could not be judged: `not` must not turn it into an allow. */
  readonly indeterminate: boolean;
  /** What the policy decides when this verdict is the root's. */
  readonly reason: 'POLICY_MATCH' | 'POLICY_NO_MATCH';
}

/**
 * One step of an explanation: a node, whether it held, and what it compared.
 *
 * @example
 * ```ts
 * import type { ExplainStep } from 'koa-mtls';
 *
 * const step: ExplainStep = {
 *   rule: 'policy.san.dns',
 *   matched: false,
 *   detail: 'san.dns in [*.example.com]: no entry matched; peer has san.dns ["a.b.example.com"]',
 * };
 * ```
 */
export interface ExplainStep {
  readonly rule: string;
  readonly matched: boolean;
  readonly detail: string;
}

/** A compiled policy node. */
export interface PolicyNode {
  readonly rule: string;
  /** A readable description of this node (for `describeRoutes` and explanations). */
  readonly description: string;
  /** Whether evaluation may return a promise (a `check` somewhere below). */
  readonly isAsync: boolean;
  /** Set on a condition of a registered kind: its entries, so that `anyOf` can index its siblings' entries together. */
  readonly condition?: { readonly kind: AnyConditionKind; readonly entries: readonly IndexedEntry[] };
  evaluate(view: PeerView, ctx: Context | undefined, trace: ExplainStep[] | undefined): Verdict | Promise<Verdict>;
}

/** A pre-made verdict (nodes build theirs at startup). */
export function verdict(matched: boolean, rule: string, indeterminate = false): Verdict {
  return Object.freeze({ matched, rule, indeterminate, reason: matched ? 'POLICY_MATCH' : 'POLICY_NO_MATCH' });
}

/** A condition of a registered kind: any peer value matching any entry (indexed, see {@link PatternSet}) holds. */
export function kindNode(
  rule: string,
  description: string,
  kind: AnyConditionKind,
  entries: readonly IndexedEntry[],
): PolicyNode {
  const set = new PatternSet(kind, entries);
  const no = verdict(false, rule);
  const unknown = verdict(false, rule, true);
  return Object.freeze({
    rule,
    description,
    isAsync: false,
    condition: Object.freeze({ kind, entries }),
    evaluate(view: PeerView, _ctx: Context | undefined, trace: ExplainStep[] | undefined): Verdict {
      const found = set.find(view.values(kind));
      const result = found === UNDETERMINED ? unknown : found === undefined ? no : found.verdict;
      if (trace !== undefined) {
        const what = result.matched
          ? `matched ${result.rule}`
          : result.indeterminate
            ? 'no entry matched, and a peer value could not be read'
            : 'no entry matched';
        trace.push({
          rule,
          matched: result.matched,
          detail: `${description}: ${what}; peer has ${kind.describe(view)}`,
        });
      }
      return result;
    },
  });
}

/** A condition over DN attributes: `test` returns the index of the entry that matched, or -1. */
export function conditionNode(
  rule: string,
  description: string,
  entryRules: readonly string[],
  test: (view: PeerView) => number,
  describePeer: (view: PeerView) => string,
): PolicyNode {
  const yes = entryRules.map((entryRule) => verdict(true, entryRule));
  const no = verdict(false, rule);
  return Object.freeze({
    rule,
    description,
    isAsync: false,
    evaluate(view: PeerView, _ctx: Context | undefined, trace: ExplainStep[] | undefined): Verdict {
      const index = test(view);
      const result = index === -1 ? no : (yes[index] ?? no);
      if (trace !== undefined) {
        const what = result.matched ? `matched ${result.rule}` : 'no entry matched';
        trace.push({
          rule,
          matched: result.matched,
          detail: `${description}: ${what}; peer has ${describePeer(view)}`,
        });
      }
      return result;
    },
  });
}

/** Allows every peer that reached the policy (`anyPeer: true`). */
export function anyPeerNode(rule: string): PolicyNode {
  const yes = verdict(true, rule);
  return Object.freeze({
    rule,
    description: 'any verified peer',
    isAsync: false,
    evaluate(_view: PeerView, _ctx: Context | undefined, trace: ExplainStep[] | undefined): Verdict {
      trace?.push({ rule, matched: true, detail: 'anyPeer: every verified peer' });
      return yes;
    },
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function checkFailed(rule: string, cause: unknown): KoaMtlsError {
  // The user's error is kept as `cause`, never mutated into a 4xx: a broken check is the server's fault, not the client's.
  return new KoaMtlsError('ERR_MTLS_POLICY_CHECK_FAILED', `Policy check at ${rule} failed`, { status: 500, cause });
}

/** The user's predicate: only `true` allows; a throw or rejection is a server error, never an allow. */
export function checkNode(rule: string, check: PeerCheck): PolicyNode {
  const yes = verdict(true, rule);
  const no = verdict(false, rule);
  const settle = (result: unknown, trace: ExplainStep[] | undefined): Verdict => {
    const matched = result === true;
    trace?.push({ rule, matched, detail: `check returned ${String(result)}` });
    return matched ? yes : no;
  };
  return Object.freeze({
    rule,
    description: `check(${check.name === '' ? 'anonymous' : check.name})`,
    isAsync: true,
    evaluate(view: PeerView, ctx: Context | undefined, trace: ExplainStep[] | undefined): Verdict | Promise<Verdict> {
      if (ctx === undefined) {
        trace?.push({ rule, matched: false, detail: 'check not evaluated: it needs a request context' });
        return no;
      }
      let result: unknown;
      try {
        result = check(view.peer, ctx);
      } catch (error) {
        throw checkFailed(rule, error);
      }
      if (!isThenable(result)) return settle(result, trace);
      return Promise.resolve(result).then(
        (value) => settle(value, trace),
        (error: unknown) => {
          throw checkFailed(rule, error);
        },
      );
    },
  });
}

function evaluateAll(
  children: readonly PolicyNode[],
  start: number,
  yes: Verdict,
  view: PeerView,
  ctx: Context | undefined,
  trace: ExplainStep[] | undefined,
): Verdict | Promise<Verdict> {
  for (let index = start; index < children.length; index++) {
    const result = (children[index] as PolicyNode).evaluate(view, ctx, trace);
    if (result instanceof Promise) {
      return result.then((settled) =>
        settled.matched ? evaluateAll(children, index + 1, yes, view, ctx, trace) : settled,
      );
    }
    if (!result.matched) return result;
  }
  return yes;
}

/** Evaluates the children in order from `start`; `no` is this node's plain or indeterminate "no" so far. */
function evaluateAny(
  children: readonly PolicyNode[],
  start: number,
  no: Verdict,
  unknown: Verdict,
  view: PeerView,
  ctx: Context | undefined,
  trace: ExplainStep[] | undefined,
): Verdict | Promise<Verdict> {
  let fallback = no;
  for (let index = start; index < children.length; index++) {
    const result = (children[index] as PolicyNode).evaluate(view, ctx, trace);
    if (result instanceof Promise) {
      const sofar = fallback;
      return result.then((settled) =>
        settled.matched
          ? settled
          : evaluateAny(children, index + 1, settled.indeterminate ? unknown : sofar, unknown, view, ctx, trace),
      );
    }
    if (result.matched) return result;
    if (result.indeterminate) fallback = unknown;
  }
  return fallback;
}

/**
 * The siblings of an `anyOf` that are conditions of a registered kind, merged per kind into one {@link PatternSet}
 * (10,000 one-SPIFFE-ID rules are one hash lookup), and the other children in order. Evaluates to the same verdict as
 * trying every child in order: the first child in policy order that holds.
 */
function mergedAny(children: readonly PolicyNode[], no: Verdict, unknown: Verdict) {
  const byKind = new Map<AnyConditionKind, IndexedEntry[]>();
  const childOfOrder: number[] = [];
  const others: number[] = [];
  children.forEach((child, index) => {
    if (child.condition === undefined) {
      others.push(index);
      return;
    }
    let list = byKind.get(child.condition.kind);
    if (list === undefined) {
      list = [];
      byKind.set(child.condition.kind, list);
    }
    for (const entry of child.condition.entries) {
      list.push({ pattern: entry.pattern, order: childOfOrder.length, verdict: entry.verdict });
      childOfOrder.push(index);
    }
  });
  const sets = [...byKind].map(([kind, entries]) => new PatternSet(kind, entries));
  return (view: PeerView, ctx: Context | undefined): Verdict => {
    let best: IndexedEntry | undefined;
    let undetermined = false;
    for (const set of sets) {
      const found = set.find(view.values(set.kind));
      if (found === UNDETERMINED) undetermined = true;
      else if (found !== undefined && (best === undefined || found.order < best.order)) best = found;
    }
    const bestChild = best === undefined ? children.length : (childOfOrder[best.order] as number);
    for (const index of others) {
      if (index > bestChild) break;
      const result = (children[index] as PolicyNode).evaluate(view, ctx, undefined) as Verdict;
      if (result.matched) return result;
      if (result.indeterminate) undetermined = true;
    }
    if (best !== undefined) return best.verdict;
    return undetermined ? unknown : no;
  };
}

/** Every child must hold; the verdict of a denial is the first child that failed. */
export function allNode(rule: string, description: string, children: readonly PolicyNode[]): PolicyNode {
  const yes = verdict(true, rule);
  return Object.freeze({
    rule,
    description,
    isAsync: children.some((child) => child.isAsync),
    evaluate(view: PeerView, ctx: Context | undefined, trace: ExplainStep[] | undefined) {
      return evaluateAll(children, 0, yes, view, ctx, trace);
    },
  });
}

/** Any child may hold; the verdict of an allow is the child's (the rule that allowed). */
export function anyNode(rule: string, description: string, children: readonly PolicyNode[]): PolicyNode {
  const no = verdict(false, rule);
  const unknown = verdict(false, rule, true);
  const isAsync = children.some((child) => child.isAsync);
  // A `check` below may be async and must run in order: such a list is tried child by child.
  const merged = isAsync ? undefined : mergedAny(children, no, unknown);
  return Object.freeze({
    rule,
    description,
    isAsync,
    evaluate(view: PeerView, ctx: Context | undefined, trace: ExplainStep[] | undefined) {
      if (merged !== undefined && trace === undefined) return merged(view, ctx);
      const result = evaluateAny(children, 0, no, unknown, view, ctx, trace);
      if (trace !== undefined && !(result instanceof Promise) && !result.matched) {
        trace.push({ rule, matched: false, detail: `${description}: no entry matched` });
      }
      return result;
    },
  });
}

/** The child must not hold. An indeterminate child stays indeterminate: "cannot tell" never allows. */
export function notNode(rule: string, child: PolicyNode): PolicyNode {
  const yes = verdict(true, rule);
  const no = verdict(false, rule);
  const unknown = verdict(false, rule, true);
  const invert = (result: Verdict, trace: ExplainStep[] | undefined): Verdict => {
    const held = result.matched
      ? 'held'
      : result.indeterminate
        ? 'could not be decided for a peer value'
        : 'did not hold';
    trace?.push({ rule, matched: !result.matched && !result.indeterminate, detail: `not: inner rule ${held}` });
    if (result.indeterminate) return unknown;
    return result.matched ? no : yes;
  };
  return Object.freeze({
    rule,
    description: `not(${child.description})`,
    isAsync: child.isAsync,
    evaluate(view: PeerView, ctx: Context | undefined, trace: ExplainStep[] | undefined) {
      const result = child.evaluate(view, ctx, trace);
      if (result instanceof Promise) return result.then((settled) => invert(settled, trace));
      return invert(result, trace);
    },
  });
}
