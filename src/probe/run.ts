/**
 * Runs a probe plan: sends each request at the given rate through the origin-bound sender, and turns responses into
 * findings by content (host data) or, for authorization, by whether the probe identity was let through.
 *
 * @module probe/run
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProbeResponse, SendRequest } from './client.js';
import type { Detector, Evidence } from './evidence.js';
import { type Finding, RULES, type RuleId, sortFindings } from './findings.js';
import type { ProbeOperation } from './operations.js';
import type { ProbePlan, ProbeRequest, SkippedOperation } from './plan.js';

/** What a probe run found and did. */
export interface ProbeResult {
  readonly origin: string;
  readonly findings: readonly Finding[];
  readonly stats: {
    readonly operations: number;
    readonly planned: number;
    readonly sent: number;
    /** Requests cut by the budget. */
    readonly truncated: number;
    /** 3xx answers; none is followed. */
    readonly redirects: number;
    /** Redirects whose target is another origin. */
    readonly offOriginRedirects: number;
    /** Requests that failed (timeout, reset). */
    readonly failed: number;
  };
  readonly skipped: readonly SkippedOperation[];
}

/** How to run. */
export interface RunOptions {
  readonly origin: URL;
  /** Requests per second, at most. */
  readonly rate: number;
  readonly onProgress?: (done: number, total: number, findings: number) => void;
}

/** 401 and 403 are the only answers that mean "the authorization layer stopped this identity" (RFC 9110 §15.5.2, §15.5.4). */
const DENIED: ReadonlySet<number> = new Set([401, 403]);

function operationName(operation: ProbeOperation): string {
  return `${operation.method} ${operation.path}`;
}

/**
 * Whether the request got past authorization. A baseline counts with any answer but 401/403 (a handler's own 404
 * still means it ran); a case variant only with a success, since a 404 there may be the router not matching at all.
 */
function reached(request: ProbeRequest, status: number): boolean {
  if (request.kind === 'case-variant') return status >= 200 && status < 400;
  return status !== 0 && !DENIED.has(status);
}

function sameOrigin(location: string, origin: URL): boolean {
  try {
    return new URL(location, origin).origin === origin.origin;
  } catch {
    return false;
  }
}

function authorizationRule(operation: ProbeOperation): RuleId | undefined {
  const flags = operation.guard?.flags ?? [];
  // A route declared with allowAnonymous() is public by design; reaching it is no finding.
  if (flags.includes('anonymous')) return undefined;
  if (flags.includes('report-only')) return 'report-only-route-reached';
  if (flags.includes('partial-policy')) return 'partial-policy-route-reached';
  if (flags.includes('no-policy') || operation.guard?.guarded === false) return 'unguarded-route-reached';
  return undefined;
}

function finding(
  rule: RuleId,
  request: ProbeRequest,
  response: ProbeResponse,
  marker: string,
  evidence: string,
): Finding {
  const { category, level, fix } = RULES[rule];
  return {
    rule,
    category,
    level,
    operation: operationName(request.operation),
    ...(request.slot === undefined ? {} : { input: `${request.slot.in} ${request.slot.name}` }),
    request: {
      method: request.method,
      path: request.path,
      ...(request.payload === undefined ? {} : { form: request.payload.form, target: request.payload.target.path }),
    },
    status: response.status,
    marker,
    evidence,
    fix,
  };
}

/** Sends the plan and collects findings, one per rule, operation and input (the first request that showed it). */
export async function runProbe(
  plan: ProbePlan,
  send: SendRequest,
  detector: Detector,
  options: RunOptions,
): Promise<ProbeResult> {
  const findings = new Map<string, Finding>();
  const baselineMarkers = new Map<ProbeOperation, string>();
  const add = (
    rule: RuleId,
    request: ProbeRequest,
    response: ProbeResponse,
    evidence: Pick<Evidence, 'marker' | 'excerpt'>,
  ) => {
    const key = `${rule} ${operationName(request.operation)} ${rule === 'host-content-via-input' ? (request.slot?.name ?? '') : ''}`;
    if (!findings.has(key)) findings.set(key, finding(rule, request, response, evidence.marker, evidence.excerpt));
  };
  let sent = 0;
  let redirects = 0;
  let offOriginRedirects = 0;
  let failed = 0;
  const interval = 1000 / options.rate;
  const started = Date.now();
  for (const [index, request] of plan.requests.entries()) {
    const due = started + index * interval;
    if (due > Date.now()) await sleep(due - Date.now());
    let response: ProbeResponse;
    try {
      response = await send(request.method, request.path, request.headers);
      sent += 1;
    } catch {
      failed += 1;
      options.onProgress?.(index + 1, plan.requests.length, findings.size);
      continue;
    }
    if (response.status >= 300 && response.status < 400) {
      redirects += 1;
      if (response.location !== undefined && !sameOrigin(response.location, options.origin)) offOriginRedirects += 1;
    }
    const evidence = detector.inspect(response.body, request.payload?.target);
    if (request.kind === 'payload') {
      // Host content the benign request already returned is the route's own behaviour, not the input's.
      if (evidence?.kind === 'host-content' && baselineMarkers.get(request.operation) !== evidence.marker) {
        add('host-content-via-input', request, response, evidence);
      }
    } else {
      if (request.kind === 'baseline' && evidence?.kind === 'host-content') {
        baselineMarkers.set(request.operation, evidence.marker);
        add('host-data-on-benign-request', request, response, evidence);
      }
      const rule = authorizationRule(request.operation);
      if (rule !== undefined && reached(request, response.status)) {
        add(rule, request, response, { marker: `status:${response.status}`, excerpt: `HTTP ${response.status}` });
      }
    }
    if (evidence?.kind === 'host-path-error') add('host-path-in-error', request, response, evidence);
    options.onProgress?.(index + 1, plan.requests.length, findings.size);
  }
  const operations = new Set(plan.requests.map((request) => request.operation)).size;
  return {
    origin: options.origin.origin,
    findings: sortFindings([...findings.values()]),
    stats: {
      operations,
      planned: plan.requests.length + plan.truncated,
      sent,
      truncated: plan.truncated,
      redirects,
      offOriginRedirects,
      failed,
    },
    skipped: plan.skipped,
  };
}
