/**
 * The probe plan: which requests to send, in which order, within the request budget. Baselines (one benign request
 * per operation) come first, then the payloads round-robin over every input, so a budget cut thins every input evenly.
 *
 * @module probe/plan
 */
import type { ProbeOperation, ProbeSlot } from './operations.js';
import { type Payload, payloadsFor } from './payloads.js';

/** Methods that must not change server state (RFC 9110 §9.2.1); HEAD is left out because it has no body to inspect. */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set(['GET']);

/** Methods the probe can send at all; OPTIONS, HEAD and TRACE answer without the handler's content. */
const PROBED_METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** The value put into inputs that are not under test. */
export const BENIGN_VALUE = 'koa-mtls-probe';

/** Why a request is in the plan. */
export type RequestKind = 'baseline' | 'case-variant' | 'payload';

/** One planned request. `path` is already encoded (path and query) and always starts with `/`. */
export interface ProbeRequest {
  readonly operation: ProbeOperation;
  readonly kind: RequestKind;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly slot?: ProbeSlot;
  readonly payload?: Payload;
}

/** An operation the plan leaves out, and why. */
export interface SkippedOperation {
  readonly operation: string;
  readonly reason: string;
}

/** What the probe will send. */
export interface ProbePlan {
  readonly requests: readonly ProbeRequest[];
  readonly skipped: readonly SkippedOperation[];
  /** Requests cut by the budget. */
  readonly truncated: number;
}

/** How to plan. */
export interface PlanOptions {
  readonly unsafeMethods: boolean;
  readonly maxRequests: number;
}

function encodePath(text: string): string {
  return encodeURI(text).replace(/[?#]/g, (char) => encodeURIComponent(char));
}

function fill(operation: ProbeOperation, slot: ProbeSlot | undefined, value: string, upperCase = false): string {
  let path = operation.path.replace(/\{([^}]*)\}|[^{]+/g, (part, name: string | undefined) => {
    // A template's literal text may hold spaces, controls or `?`/`#` (an untrusted document): encode it as a path.
    if (name === undefined) return encodePath(upperCase ? part.toUpperCase() : part);
    return encodeURIComponent(slot?.in === 'path' && slot.name === name ? value : BENIGN_VALUE);
  });
  if (slot?.in === 'query') path += `?${encodeURIComponent(slot.name)}=${encodeURIComponent(value)}`;
  return path;
}

function request(operation: ProbeOperation, kind: RequestKind, slot?: ProbeSlot, payload?: Payload): ProbeRequest {
  const value = payload?.value ?? BENIGN_VALUE;
  const headers = slot?.in === 'header' ? { [slot.name.toLowerCase()]: value } : {};
  return {
    operation,
    kind,
    method: operation.method,
    path: fill(operation, slot, value),
    headers,
    ...(slot === undefined ? {} : { slot }),
    ...(payload === undefined ? {} : { payload }),
  };
}

/**
 * Plans the requests for `operations`: read-only methods only unless `unsafeMethods`, deduplicated by method, path and
 * headers, at most `maxRequests`.
 */
export function buildPlan(operations: readonly ProbeOperation[], options: PlanOptions): ProbePlan {
  const skipped: SkippedOperation[] = [];
  const probed: ProbeOperation[] = [];
  for (const operation of operations) {
    const name = `${operation.method} ${operation.path}`;
    if (!PROBED_METHODS.has(operation.method))
      skipped.push({ operation: name, reason: 'method without a body to inspect' });
    else if (!options.unsafeMethods && !READ_ONLY_METHODS.has(operation.method)) {
      skipped.push({ operation: name, reason: 'not read-only (use --unsafe-methods)' });
    } else probed.push(operation);
  }

  const all: ProbeRequest[] = [];
  for (const operation of probed) {
    all.push(request(operation, 'baseline'));
    // A guard scoped to a case-sensitive prefix misses requests the case-insensitive route still matches (CWE-178).
    if (operation.guard?.flags.includes('partial-policy') === true) {
      all.push({ ...request(operation, 'case-variant'), path: fill(operation, undefined, BENIGN_VALUE, true) });
    }
  }
  const queues = probed.flatMap((operation) =>
    operation.slots.map((slot) => ({ operation, slot, payloads: payloadsFor(slot.in) })),
  );
  const longest = Math.max(0, ...queues.map((queue) => queue.payloads.length));
  for (let index = 0; index < longest; index += 1) {
    for (const { operation, slot, payloads } of queues) {
      const payload = payloads[index];
      if (payload !== undefined) all.push(request(operation, 'payload', slot, payload));
    }
  }

  const seen = new Set<string>();
  const unique = all.filter((planned) => {
    const key = `${planned.method} ${planned.path} ${JSON.stringify(planned.headers)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return {
    requests: unique.slice(0, options.maxRequests),
    skipped,
    truncated: Math.max(0, unique.length - options.maxRequests),
  };
}
