/**
 * Runs the external TLS scanners — testssl.sh 3.0.8 and sslscan 2.0.7 (Debian 12 packages `testssl.sh`, `sslscan`) —
 * against a server on 127.0.0.1 and parses their machine-readable output.
 */
import { readFileSync } from 'node:fs';
import { hasProgram } from '../../helpers/external-tools.js';
import { runProgram } from '../../helpers/processes.js';

/** testssl's command: `testssl` in the Debian package, `testssl.sh` from upstream; `undefined` when neither is found. */
export const TESTSSL_COMMAND = ['testssl', 'testssl.sh'].find(hasProgram);

/** One testssl finding (`--jsonfile-pretty`: `scanResult[].<section>[]`). */
export interface TestsslFinding {
  /** `protocols`, `ciphers`, `pfs`, `serverDefaults`, `vulnerabilities`, … or `scan` for a finding about the run. */
  readonly section: string;
  readonly id: string;
  /** OK, INFO, LOW, MEDIUM, HIGH, CRITICAL, or WARN (the scanner could not test something). */
  readonly severity: string;
  readonly finding: string;
}

/** What testssl needs to scan one port. */
export interface TestsslRun {
  readonly port: number;
  /** The CA that issued the server certificate (`--add-ca`), so the chain of trust is checked, not skipped. */
  readonly caFile: string;
  /** A client certificate chain followed by its key, in one PEM file (see {@link runTestssl}). */
  readonly clientCertificateAndKeyFile: string;
  /** Where testssl writes its JSON; must not exist yet. */
  readonly jsonFile: string;
  /**
   * Also run `-P` (the server's cipher order). Against the TLS 1.3-only `modern` profile testssl 3.0.8's `-P` alone
   * took ~245 s on a loaded 2-core machine (for an INFO "server (TLS 1.3)"); the order matters for TLS 1.2.
   */
  readonly serverPreferences?: boolean;
}

/**
 * The checks run: protocols (`-p`), standard cipher categories (`-s`), forward secrecy and groups (`-f`), server
 * defaults and certificate (`-S`), all vulnerabilities (`-U`); with `serverPreferences`, the server's cipher order
 * (`-P`: the server prefers its own order, ChaCha20 first for clients that list it first). Not `-e`/`-E` (every cipher:
 * sslscan lists them, faster), not
 * `--fast` (it makes testssl use the local OpenSSL 3 for cipher checks, which cannot offer RC4 and the like, so the
 * RC4 check becomes a "local problem" instead of a result).
 */
const TESTSSL_CHECKS = ['-p', '-s', '-f', '-S', '-U'];

/**
 * Timing knobs testssl reads from the environment (defaults in brackets): the pause after each socket send [0.1 s],
 * and the waits for a CCS-injection or Heartbleed reply [5 s, 8 s], which on loopback come at once or never.
 */
const TESTSSL_ENV = { USLEEP_SND: '0.01', CCS_MAX_WAITSOCK: '2', HEARTBLEED_MAX_WAITSOCK: '2' };

/**
 * Runs testssl and returns every finding. testssl 3.0.8 has no `--mtls` option (3.2 added it); its `keyopts`
 * environment variable is appended to every `openssl s_client` call, so `-cert <chain+key>` makes the
 * openssl-based checks (service detection, session resumption, client-initiated renegotiation, BREACH) complete
 * the handshake instead of reporting "client x509-based authentication prevents this from being tested".
 * The exit status is not a verdict (it counts ambiguous results), so only the JSON is read.
 */
export async function runTestssl(run: TestsslRun): Promise<TestsslFinding[]> {
  const args = [
    '--quiet',
    '--color',
    '0',
    '--warnings',
    'off',
    '--nodns',
    'none',
    '--openssl-timeout',
    '5',
    '--connect-timeout',
    '5',
    '--add-ca',
    run.caFile,
    ...TESTSSL_CHECKS,
    ...(run.serverPreferences === true ? ['-P'] : []),
    '--jsonfile-pretty',
    run.jsonFile,
    `127.0.0.1:${run.port}`,
  ];
  if (TESTSSL_COMMAND === undefined) throw new Error('testssl is not installed');
  const result = await runProgram(TESTSSL_COMMAND, args, {
    env: { ...TESTSSL_ENV, keyopts: `-cert ${run.clientCertificateAndKeyFile}` },
    timeoutMs: 380_000,
  });
  if (result.signal !== null) throw new Error(`testssl timed out:\n${result.stdout.slice(-2000)}`);
  return parseTestsslJson(readFileSync(run.jsonFile, 'utf8'));
}

interface RawFinding {
  readonly id?: unknown;
  readonly severity?: unknown;
  readonly finding?: unknown;
}

function isFinding(value: unknown): value is RawFinding & { id: string; severity: string; finding: string } {
  const raw = value as RawFinding;
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof raw.id === 'string' &&
    typeof raw.severity === 'string' &&
    typeof raw.finding === 'string'
  );
}

/**
 * Flattens testssl's pretty JSON. `scanResult` holds one object per target with a list per section, and may start
 * with bare findings about the run itself (e.g. `optimal_proto`): those get the section `scan`.
 */
export function parseTestsslJson(json: string): TestsslFinding[] {
  const document = JSON.parse(json) as { scanResult?: unknown };
  if (!Array.isArray(document.scanResult)) throw new Error('testssl JSON without scanResult');
  const findings: TestsslFinding[] = [];
  for (const entry of document.scanResult as unknown[]) {
    if (isFinding(entry)) {
      findings.push({ section: 'scan', id: entry.id, severity: entry.severity, finding: entry.finding });
      continue;
    }
    for (const [section, list] of Object.entries(entry as Record<string, unknown>)) {
      if (!Array.isArray(list)) continue;
      for (const item of list) {
        if (isFinding(item)) findings.push({ section, id: item.id, severity: item.severity, finding: item.finding });
      }
    }
  }
  return findings;
}

/** sslscan's view of a server. */
export interface SslscanReport {
  /** `ssl2`, `ssl3`, `tls1.0` … `tls1.3` → enabled. */
  readonly protocols: Readonly<Record<string, boolean>>;
  readonly ciphers: readonly { readonly sslversion: string; readonly cipher: string }[];
  readonly groups: readonly { readonly sslversion: string; readonly name: string }[];
  /** `<heartbleed vulnerable>` per protocol version. */
  readonly heartbleedVulnerable: readonly boolean[];
  /** The lines of "Acceptable client certificate CA names" in the text output (`None defined (any)` when empty). */
  readonly clientCaNames: readonly string[];
}

/**
 * Runs `sslscan --show-client-cas` once, keeping both the XML (protocols, suites, groups, Heartbleed)
 * and the text (the client CA names: the XML omits the element when there are none). With a client certificate
 * sslscan also lists TLS 1.2 suites of a server that requires one (without, it lists none). Its renegotiation
 * result is not read: 2.0.7 reports "not supported" even for a Node server that does renegotiate TLS 1.2 (checked
 * with `secureOptions: 0`); testssl's `secure_client_renego` tells the two apart.
 */
export async function runSslscan(
  port: number,
  options: { readonly xmlFile: string; readonly certFile?: string; readonly keyFile?: string },
): Promise<SslscanReport> {
  const args = [
    '--no-colour',
    '--show-client-cas',
    `--xml=${options.xmlFile}`,
    ...(options.certFile === undefined ? [] : [`--certs=${options.certFile}`]),
    ...(options.keyFile === undefined ? [] : [`--pk=${options.keyFile}`]),
    `127.0.0.1:${port}`,
  ];
  const result = await runProgram('sslscan', args, { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`sslscan exit ${result.code}: ${result.stderr}`);
  return parseSslscan(readFileSync(options.xmlFile, 'utf8'), result.stdout);
}

/** The attributes of every `<tag …/>` element in `xml`. sslscan's XML is flat and machine-written. */
function elements(xml: string, tag: string): Record<string, string>[] {
  const found: Record<string, string>[] = [];
  for (const match of xml.matchAll(new RegExp(`<${tag}\\s([^>]*?)/?>`, 'g'))) {
    const attributes: Record<string, string> = {};
    for (const attribute of (match[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g)) {
      attributes[attribute[1] ?? ''] = attribute[2] ?? '';
    }
    found.push(attributes);
  }
  return found;
}

/** Parses sslscan's `--xml` output and the client-CA section of its text output. */
export function parseSslscan(xml: string, text: string): SslscanReport {
  const protocols: Record<string, boolean> = {};
  for (const protocol of elements(xml, 'protocol')) {
    protocols[`${protocol.type}${protocol.version}`] = protocol.enabled === '1';
  }
  return {
    protocols,
    ciphers: elements(xml, 'cipher').map((cipher) => ({
      sslversion: cipher.sslversion ?? '',
      cipher: cipher.cipher ?? '',
    })),
    groups: elements(xml, 'group').map((group) => ({ sslversion: group.sslversion ?? '', name: group.name ?? '' })),
    heartbleedVulnerable: elements(xml, 'heartbleed').map((entry) => entry.vulnerable === '1'),
    clientCaNames: clientCaSection(text),
  };
}

function clientCaSection(text: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === 'Acceptable client certificate CA names:');
  if (start === -1) throw new Error('sslscan output without a client CA section (is --show-client-cas set?)');
  const section: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    section.push(line.trim());
  }
  return section;
}
