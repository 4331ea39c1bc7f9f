/**
 * `AuditEvent.reason` is the union of the reason codes the modules emit: a typo is a compile error (`npm run
 * typecheck` fails on an unused `@ts-expect-error`), and every group of codes is accepted.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { AuditEvent, AuditReason } from '../../src/audit/event.js';

describe('AuditEvent.reason', () => {
  it('refuses a misspelled reason at compile time', () => {
    const typo: AuditEvent = {
      kind: 'authz',
      outcome: 'deny',
      // @ts-expect-error: 'POLICY_NO_MACH' is not a reason code
      reason: 'POLICY_NO_MACH',
    };
    const unknown: AuditEvent = {
      kind: 'sandbox',
      outcome: 'reject',
      // @ts-expect-error: neither a sandbox reason nor any other module's
      reason: 'PATH_DOT',
    };
    expect([typo.reason, unknown.reason]).toEqual(['POLICY_NO_MACH', 'PATH_DOT']);
  });

  it('accepts the codes of every emitter', () => {
    const reasons = [
      'TLS_CERT_HAS_EXPIRED', // OpenSSL's verify code after TLS_
      'TLS_ROTATION_REFUSED',
      'PEER_IDENTIFIED',
      'PEER_CERTIFICATE_EXPIRED',
      'PROXY_CHAIN_UNTRUSTED',
      'PROXY_UNTRUSTED_SOURCE',
      'POLICY_NO_MATCH',
      'PATH_DOT_SEGMENT',
      'SYMLINK_ESCAPE',
      'OPENED',
      'MOUNTS_UNKNOWN',
      'RUNS_AS_ROOT',
      'PERMISSION_FS_READ',
      'SPIFFE_WORKLOAD_API_UNAVAILABLE',
    ] as const satisfies readonly AuditReason[];
    expectTypeOf<(typeof reasons)[number]>().toMatchTypeOf<AuditEvent['reason']>();
    expectTypeOf<string>().not.toMatchTypeOf<AuditEvent['reason']>();
    expect(reasons).toHaveLength(14);
  });
});
