/**
 * The audit recipes in docs/audit.md, run for real: pino writing to a captured stream, and an OpenTelemetry tracer
 * with an in-memory exporter, each fed by a request that an enforcing policy refuses.
 */
import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type Koa from 'koa';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { auditToOpenTelemetry } from '../../examples/audit/opentelemetry.js';
import { auditToPino } from '../../examples/audit/pino.js';
import { requirePeer } from '../../src/authz/index.js';
import type { PeerIdentity } from '../../src/identity/peer-identity.js';
import { serve } from '../authz/koa-harness.js';
import { makePeer } from '../authz/peer-fixture.js';

let undo: (() => void) | undefined;
afterEach(() => {
  undo?.();
  undo = undefined;
});

const guest: PeerIdentity = makePeer({
  spiffeId: 'spiffe://example.org/ns/prod/sa/guest',
  san: { uri: ['spiffe://example.org/ns/prod/sa/guest'] },
});
const guard = requirePeer({ spiffe: 'spiffe://example.org/ns/prod/sa/payments' });

describe('the pino recipe', () => {
  it('writes one warn line per refusal with the reason and the tls.client.* peer names', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    undo = auditToPino(pino({ base: null, timestamp: false }, sink));
    const harness = await serve(guard, { guest });
    try {
      expect(await harness.request('/', 'guest')).toEqual({ status: 403, body: 'Forbidden' });
    } finally {
      await harness.close();
    }
    const entry = JSON.parse(lines.at(-1) ?? '{}') as { level: number; msg: string; audit: Record<string, unknown> };
    expect(entry.level).toBe(40);
    expect(entry.msg).toBe('authz deny POLICY_NO_MATCH');
    expect(entry.audit.peer).toMatchObject({ 'koa_mtls.spiffe_id': 'spiffe://example.org/ns/prod/sa/guest' });
    expect(entry.audit.peer).toHaveProperty(['tls.client.hash.sha256'], guest.fingerprint256.toUpperCase());
    expect(harness.handlerRuns()).toBe(0);
  });
});

describe('the OpenTelemetry recipe', () => {
  it('puts the peer on the request span as tls.client.* attributes and marks a refusal as an error', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    const tracer = provider.getTracer('test');
    undo = auditToOpenTelemetry();
    // What an HTTP instrumentation does: one active span around each request.
    const traced: Koa.Middleware = (ctx, next) =>
      tracer.startActiveSpan(`${ctx.method} ${ctx.path}`, async (span) => {
        try {
          await next();
        } finally {
          span.end();
        }
      });
    const harness = await serve(async (ctx, next) => traced(ctx, () => guard(ctx, next)), { guest });
    try {
      expect((await harness.request('/', 'guest')).status).toBe(403);
    } finally {
      await harness.close();
      context.disable();
      trace.disable();
    }
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes).toMatchObject({
      'tls.client.subject': guest.subject.toString(),
      'tls.client.hash.sha256': guest.fingerprint256.toUpperCase(),
      'koa_mtls.spiffe_id': 'spiffe://example.org/ns/prod/sa/guest',
    });
    expect(span?.events.map((event) => [event.name, event.attributes])).toEqual([
      ['koa_mtls.authz', { 'koa_mtls.outcome': 'deny', 'koa_mtls.reason': 'POLICY_NO_MATCH' }],
    ]);
    expect(span?.status).toEqual({ code: 2, message: 'authz POLICY_NO_MATCH' });
  });
});
