/**
 * The compiled policy tree. Every node is built at startup with its verdicts pre-made, so a request that needs no
 * user `check` evaluates synchronously and allocates nothing but its normalized peer view.
 */
import type { Context } from 'koa';
import { KoaMtlsError } from '../errors.js';
import type { PeerView } from './peer-view.js';
import type { PeerCheck } from './policy.js';

/** The outcome of one node: whether it held, and the policy path that decided. */
export interface Verdict {
  readonly matched: boolean;
  /** The rule that allowed (`policy.anyOf[1]`), or the first condition that failed (`policy.anyOf[1].san.dns`). */
  readonly rule: string;
}

/**
 * One step of an explanation: a node, whether it held, and what it compared.
 *
 * @example
 * ```ts
 * { rule: 'policy.san.dns', matched: false, detail: 'san.dns in [*.example.com]: no entry matched; peer has san.dns ["a.b.example.com"]' }
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
  evaluate(view: PeerView, ctx: Context | undefined, trace: ExplainStep[] | undefined): Verdict | Promise<Verdict>;
}

function verdict(matched: boolean, rule: string): Verdict {
  return Object.freeze({ matched, rule });
}

/** A condition over one key: `test` returns the index of the entry that matched, or -1. */
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
  // The user's error is kept as `cause`, never mutated into a 4xx (style notes §7.10).
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

function evaluateAny(
  children: readonly PolicyNode[],
  start: number,
  no: Verdict,
  view: PeerView,
  ctx: Context | undefined,
  trace: ExplainStep[] | undefined,
): Verdict | Promise<Verdict> {
  for (let index = start; index < children.length; index++) {
    const result = (children[index] as PolicyNode).evaluate(view, ctx, trace);
    if (result instanceof Promise) {
      return result.then((settled) =>
        settled.matched ? settled : evaluateAny(children, index + 1, no, view, ctx, trace),
      );
    }
    if (result.matched) return result;
  }
  return no;
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
  return Object.freeze({
    rule,
    description,
    isAsync: children.some((child) => child.isAsync),
    evaluate(view: PeerView, ctx: Context | undefined, trace: ExplainStep[] | undefined) {
      const result = evaluateAny(children, 0, no, view, ctx, trace);
      if (trace !== undefined && !(result instanceof Promise) && !result.matched) {
        trace.push({ rule, matched: false, detail: `${description}: no entry matched` });
      }
      return result;
    },
  });
}

/** The child must not hold. */
export function notNode(rule: string, child: PolicyNode): PolicyNode {
  const yes = verdict(true, rule);
  const no = verdict(false, rule);
  const invert = (result: Verdict, trace: ExplainStep[] | undefined): Verdict => {
    trace?.push({
      rule,
      matched: !result.matched,
      detail: `not: inner rule ${result.matched ? 'held' : 'did not hold'}`,
    });
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
