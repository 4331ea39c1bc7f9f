/**
 * What the scanners may report about a server built with `mtlsOptions`: the Mozilla Server Side TLS 6.0 lists the
 * profiles are made of, and the allow-list of testssl findings that are expected for a private-CA mTLS service,
 * each with its reason. docs/verification.md shows the allow-list (rendered by {@link renderAllowListMarkdown}).
 */
import type { MtlsProfile } from '../../../src/tls/profile.js';
import type { TestsslFinding } from './scanners.js';

/** Mozilla 6.0 `ciphersuites` (TLS 1.3), OpenSSL names. */
export const TLS13_SUITES: ReadonlySet<string> = new Set([
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
]);

/** Mozilla 6.0 Intermediate `ciphers.openssl` (TLS 1.2). */
export const TLS12_SUITES: ReadonlySet<string> = new Set([
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
]);

/**
 * Mozilla 6.0 `tls_curves` as sslscan and testssl name them. X25519MLKEM768 (offered on OpenSSL ≥ 3.5) is not in the
 * list: both scanners are built on Debian's OpenSSL 3.0 and cannot see it.
 */
export const SSLSCAN_GROUPS: ReadonlySet<string> = new Set([
  'x25519',
  'secp256r1 (NIST P-256)',
  'secp384r1 (NIST P-384)',
]);
export const TESTSSL_CURVES: ReadonlySet<string> = new Set(['X25519', 'prime256v1', 'secp384r1']);

/** A testssl finding that is expected, and why. It must match exactly: id, severity and the finding's text. */
export interface AllowedFinding {
  readonly id: string;
  readonly severity: string;
  readonly finding: RegExp;
  /** Only for this profile; both when absent. */
  readonly profile?: MtlsProfile;
  readonly reason: string;
}

/** The findings above OK/INFO that a strict private-CA mTLS server is expected to get from testssl 3.0.8. */
export const TESTSSL_ALLOW_LIST: readonly AllowedFinding[] = [
  {
    id: 'cert_expirationStatus',
    severity: 'HIGH',
    finding: /^expires < 30 days \(\d+\)$/,
    reason:
      'testssl rates any certificate with less than 30 days left as HIGH. Short-lived certificates are the point ' +
      'of a private mTLS PKI (SPIRE SVIDs live 1 h, the test certificate 30 days); `watchCertificates` rotates them. ' +
      'An expired certificate reads "expired" and is not allowed.',
  },
  {
    id: 'cert_notAfter',
    severity: 'HIGH',
    finding: /^\d{4}-\d\d-\d\d \d\d:\d\d$/,
    reason: 'The same < 30 days rating, repeated on the expiry date.',
  },
  {
    id: 'cert_revocation',
    severity: 'HIGH',
    finding: /^Neither CRL nor OCSP URI provided$/,
    reason:
      'The private CA publishes no CRL distribution point or OCSP responder in the server certificate: its clients ' +
      'get the CA bundle and CRL out of band. Client-certificate revocation is the `crl` option (client matrix, ' +
      '"revoked (CRL)"); Node has no OCSP for client certificates.',
  },
  {
    id: 'sessionresumption_ticket',
    severity: 'WARN',
    finding: /^check failed because of connect problem$/,
    reason:
      'Intermittent (seen under load): testssl probes resumption with two `openssl s_client` runs with stdin at EOF, ' +
      'and against a server that requires a client certificate one of them sometimes ends before printing the ' +
      'certificate. Resumption is a feature, not a weakness; its lifetime is asserted through `TLS_session_ticket` ' +
      '(intermediate) and its behaviour across trust changes in test/tls/certificate-watcher.test.ts.',
  },
  {
    id: 'sessionresumption_ID',
    severity: 'WARN',
    finding: /^check failed because of connect problem$/,
    reason: 'The same intermittent probe failure, for resumption by session ID.',
  },
];

/** Whether `finding` is on the allow-list for `profile`. */
export function isAllowed(finding: TestsslFinding, profile: MtlsProfile): boolean {
  return TESTSSL_ALLOW_LIST.some(
    (allowed) =>
      allowed.id === finding.id &&
      allowed.severity === finding.severity &&
      (allowed.profile === undefined || allowed.profile === profile) &&
      allowed.finding.test(finding.finding),
  );
}

/** The allow-list as a markdown table (the one in docs/verification.md). */
export function renderAllowListMarkdown(): string {
  return [
    '| testssl id | Severity | Finding | Profile | Why it is expected |',
    '| --- | --- | --- | --- | --- |',
    ...TESTSSL_ALLOW_LIST.map(
      (allowed) =>
        `| \`${allowed.id}\` | ${allowed.severity} | \`${allowed.finding.source}\` | ${allowed.profile ?? 'both'} | ${allowed.reason} |`,
    ),
  ].join('\n');
}
