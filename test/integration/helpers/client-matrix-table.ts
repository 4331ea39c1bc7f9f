/**
 * The client matrix as data: one row per client certificate case, the expected outcome for every client, and the
 * Node versions on which Node's own TLS client refuses to send the certificate at all. The test runs it and
 * `docs/verification.md` shows it (rendered by {@link renderMatrixMarkdown}; a test keeps the two in sync).
 */
import type { ClientCertificateName } from './matrix-pki.js';

/** What a cell expects. */
export type Expected =
  /** 200 from the app. */
  | { readonly outcome: 'accepted' }
  /** No response; the app did not run; `onTlsClientRejected` reported `reason`. */
  | { readonly outcome: 'rejected'; readonly reason: string; readonly reportsSubject: boolean }
  /** The client itself refuses to load the certificate (`errorCode`); nothing reaches the server. */
  | { readonly outcome: 'client-refuses'; readonly errorCode: string };

/** The Node majors the suite supports (CI runs each). */
export type NodeMajor = 20 | 22 | 24;

/** One row of the matrix. */
export interface MatrixCase {
  readonly name: string;
  /** The client certificate sent, or none. */
  readonly certificate: ClientCertificateName | undefined;
  /** The client offers TLS 1.2 at most. */
  readonly tls12Only: boolean;
  /** The expectation for every client, unless overridden for Node's TLS client below. */
  readonly expected: Expected;
  /** Node's own TLS client (`https`, `undici`) where it differs, by Node major: explicit, never a silent skip. */
  readonly nodeClient?: Readonly<Partial<Record<NodeMajor, Expected>>>;
}

const accepted: Expected = { outcome: 'accepted' };

/** A certificate rejected by verification: the event names the client's subject (the client sent SNI). */
function rejectedCertificate(reason: string): Expected {
  return { outcome: 'rejected', reason, reportsSubject: true };
}

/** A handshake refused before any certificate was verified: no subject to report. */
function rejectedHandshake(reason: string): Expected {
  return { outcome: 'rejected', reason, reportsSubject: false };
}

function clientRefuses(errorCode: string): Expected {
  return { outcome: 'client-refuses', errorCode };
}

/** The server: `https.createServer(mtlsOptions({ profile: 'modern', crl }))` with a CRL revoking `revoked`. */
export const MATRIX: readonly MatrixCase[] = [
  { name: 'valid certificate', certificate: 'valid', tls12Only: false, expected: accepted },
  {
    name: 'no certificate',
    certificate: undefined,
    tls12Only: false,
    expected: rejectedHandshake('TLS_NO_CLIENT_CERTIFICATE'),
  },
  {
    name: 'other CA',
    certificate: 'otherCa',
    tls12Only: false,
    expected: rejectedCertificate('TLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
  },
  { name: 'expired', certificate: 'expired', tls12Only: false, expected: rejectedCertificate('TLS_CERT_HAS_EXPIRED') },
  {
    name: 'not yet valid',
    certificate: 'notYetValid',
    tls12Only: false,
    expected: rejectedCertificate('TLS_CERT_NOT_YET_VALID'),
  },
  {
    name: 'revoked (CRL)',
    certificate: 'revoked',
    tls12Only: false,
    expected: rejectedCertificate('TLS_CERT_REVOKED'),
  },
  {
    // OpenSSL 3 "EE key too small" has no name in Node's verify-error table: it surfaces as UNSPECIFIED
    name: 'RSA-1024',
    certificate: 'rsa1024',
    tls12Only: false,
    expected: rejectedCertificate('TLS_UNSPECIFIED'),
    nodeClient: { 24: clientRefuses('ERR_SSL_EE_KEY_TOO_SMALL') },
  },
  {
    // "CA md too weak" is UNSPECIFIED too; Node 20's client (OpenSSL 3.0, level 1) will not load a SHA-1 certificate
    name: 'SHA-1 signature',
    certificate: 'sha1',
    tls12Only: false,
    expected: rejectedCertificate('TLS_UNSPECIFIED'),
    nodeClient: { 20: clientRefuses('ERR_SSL_CA_MD_TOO_WEAK') },
  },
  {
    name: 'no clientAuth EKU (serverAuth only)',
    certificate: 'serverAuthOnly',
    tls12Only: false,
    expected: rejectedCertificate('TLS_INVALID_PURPOSE'),
  },
  {
    name: 'TLS 1.2 client against modern',
    certificate: 'valid',
    tls12Only: true,
    expected: rejectedHandshake('TLS_PROTOCOL_VERSION'),
  },
];

/** The expectation of `row` for a client, on Node `major`. */
export function expectationFor(row: MatrixCase, nodeTlsClient: boolean, major: number): Expected {
  return (nodeTlsClient ? row.nodeClient?.[major as NodeMajor] : undefined) ?? row.expected;
}

function cell(expected: Expected): string {
  if (expected.outcome === 'accepted') return 'accepted (200)';
  if (expected.outcome === 'rejected') return `rejected \`${expected.reason}\``;
  return `client refuses (\`${expected.errorCode}\`)`;
}

function nodeCell(row: MatrixCase): string {
  const overrides = Object.entries(row.nodeClient ?? {}).map(([major, expected]) => `Node ${major}: ${cell(expected)}`);
  return [cell(row.expected), ...overrides].join('; ');
}

/** The matrix as a markdown table (the one in docs/verification.md). */
export function renderMatrixMarkdown(): string {
  const header = [
    '| Client certificate | curl | openssl s_client | Node `https` | `undici` |',
    '| --- | --- | --- | --- | --- |',
  ];
  const rows = MATRIX.map(
    (row) => `| ${row.name} | ${cell(row.expected)} | ${cell(row.expected)} | ${nodeCell(row)} | ${nodeCell(row)} |`,
  );
  return [...header, ...rows].join('\n');
}
