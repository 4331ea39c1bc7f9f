/**
 * Recipe: every koa-mtls audit event as one pino log line. Allows at `info`, refusals and warnings at `warn`; the
 * event's fields (`kind`, `outcome`, `reason`, `tls.client.*` peer names) become the line's JSON properties.
 */
import { configureAudit } from 'koa-mtls';
import type { Logger } from 'pino';

/** Sends every audit event to `log`; returns the function that undoes it. */
export function auditToPino(log: Logger): () => void {
  return configureAudit({
    onAudit: (event) => {
      const level = event.outcome === 'allow' ? 'info' : 'warn';
      log[level]({ audit: event }, `${event.kind} ${event.outcome} ${event.reason}`);
    },
  });
}
