/**
 * Recipe: koa-mtls audit events on the active OpenTelemetry span. The peer summary already uses the semantic
 * convention names (`tls.client.subject`, `tls.client.hash.sha256`, …), so they become span attributes as they are;
 * the decision itself is a span event named `koa_mtls.<kind>`, and a refusal sets the span's status to error.
 */
import { type Attributes, SpanStatusCode, trace } from '@opentelemetry/api';
import { configureAudit } from 'koa-mtls';

/** Records every audit event on the span active when it happens; returns the function that undoes it. */
export function auditToOpenTelemetry(): () => void {
  return configureAudit({
    onAudit: (event) => {
      const span = trace.getActiveSpan();
      if (span === undefined) return;
      const peer: Attributes = { ...event.peer };
      span.setAttributes(peer);
      span.addEvent(`koa_mtls.${event.kind}`, {
        'koa_mtls.outcome': event.outcome,
        'koa_mtls.reason': event.reason,
        ...(event.requestId === undefined ? {} : { 'koa_mtls.request_id': event.requestId }),
      });
      if (event.outcome === 'deny' || event.outcome === 'reject') {
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${event.kind} ${event.reason}` });
      }
    },
  });
}
