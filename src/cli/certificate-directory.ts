/**
 * `koa-mtls doctor --certs DIR`: checks a certificate directory with exactly the rules `mtlsOptions` applies at
 * startup, so an operator learns about a refused or expiring certificate before the service restarts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KoaMtlsError } from '../errors.js';
import { mtlsOptions } from '../tls/mtls-options.js';
import type { MtlsWarning } from '../tls/warnings.js';

/** A known way of laying out the server's files in a directory. */
interface CertificateLayout {
  readonly name: string;
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly crl?: string;
}

const layouts: readonly CertificateLayout[] = [
  { name: 'koa-mtls certs', cert: 'server.pem', key: 'server-key.pem', ca: 'ca.pem', crl: 'crl.pem' },
  { name: 'Kubernetes TLS secret (cert-manager)', cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' },
  { name: 'spiffe-helper', cert: 'svid.pem', key: 'svid_key.pem', ca: 'svid_bundle.pem' },
];

/** The outcome of checking a certificate directory. */
export interface CertificateDirectoryReport {
  readonly dir: string;
  readonly layout: string;
  readonly files: Readonly<Record<'cert' | 'key' | 'ca' | 'crl', string | undefined>>;
  /** Why `mtlsOptions` would refuse these files; absent when it accepts them. */
  readonly refusal?: { readonly code: string; readonly message: string };
  readonly warnings: readonly MtlsWarning[];
}

/** Names the layouts `--certs` recognises, for a usage message. */
export const knownLayouts = layouts.map((l) => `${l.name}: ${l.cert}, ${l.key}, ${l.ca}`).join('; ');

/**
 * Finds the server certificate, key, CA bundle (and CRL) in `dir` and runs `mtlsOptions` on them.
 * Returns `undefined` when `dir` holds no known layout.
 */
export function checkCertificateDirectory(dir: string): CertificateDirectoryReport | undefined {
  const layout = layouts.find((l) => [l.cert, l.key, l.ca].every((file) => existsSync(join(dir, file))));
  if (layout === undefined) return undefined;
  const crl = layout.crl !== undefined && existsSync(join(dir, layout.crl)) ? join(dir, layout.crl) : undefined;
  const files = { cert: join(dir, layout.cert), key: join(dir, layout.key), ca: join(dir, layout.ca), crl };
  const warnings: MtlsWarning[] = [];
  try {
    mtlsOptions({
      certFile: files.cert,
      keyFile: files.key,
      caFile: files.ca,
      ...(crl === undefined ? {} : { crlFile: crl }),
      onWarning: (warning) => warnings.push(warning),
    });
  } catch (error) {
    if (!(error instanceof KoaMtlsError)) throw error;
    return { dir, layout: layout.name, files, refusal: { code: error.code, message: error.message }, warnings };
  }
  return { dir, layout: layout.name, files, warnings };
}

/** The report as text for the doctor's table output. */
export function formatCertificateDirectory(report: CertificateDirectoryReport): string {
  const lines = [`\nCertificates in ${report.dir} (${report.layout})`];
  lines.push(
    report.refusal === undefined
      ? '  ok       mtlsOptions accepts these files'
      : `  REFUSED  ${report.refusal.code}\n           ${report.refusal.message}`,
  );
  for (const warning of report.warnings) lines.push(`  warning  ${warning.code}: ${warning.message}`);
  return `${lines.join('\n')}\n`;
}
