/**
 * Reads the PEM inputs of `mtlsOptions` — inline content or a file path — and splits them into PEM blocks.
 * Reading is synchronous on purpose: `mtlsOptions` runs once at startup and throws there.
 *
 * @module trust/pem
 */
import { readFileSync, statSync } from 'node:fs';
import { configError } from '../errors.js';

/**
 * PEM content as a caller may pass it.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { mtlsOptions, type PemInput } from 'koa-mtls';
 *
 * // Two roots during a CA migration:
 * const ca: PemInput = [readFileSync('/etc/tls/root-2025.crt'), readFileSync('/etc/tls/root-2026.crt')];
 * const options = mtlsOptions({ keyFile: 'tls.key', certFile: 'tls.crt', ca });
 * ```
 */
export type PemInput = string | Uint8Array | readonly (string | Uint8Array)[];

/** One input after reading: its text and a label naming it in messages (the file path, or the option name). */
export interface PemSource {
  readonly text: string;
  /** `certFile /etc/tls/tls.crt` or `option "cert"`. */
  readonly label: string;
  /** The path, when the input came from a file. */
  readonly file?: string;
}

/** One `-----BEGIN <type>-----` block. */
export interface PemBlock {
  readonly type: string;
  readonly der: Buffer;
  readonly pem: string;
}

function toText(value: string | Uint8Array): string {
  return typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
}

/** Content given inline. */
export function inlineSource(option: string, value: PemInput): PemSource {
  const text = Array.isArray(value)
    ? (value as readonly (string | Uint8Array)[]).map(toText).join('\n')
    : toText(value as string | Uint8Array);
  return { text, label: `option "${option}"` };
}

/** Content read from a file (symlinks followed, as Kubernetes volumes need). */
export function fileSource(option: string, file: string): PemSource {
  const label = `${option} ${file}`;
  let isFile: boolean;
  let text: string;
  try {
    isFile = statSync(file).isFile();
    text = isFile ? readFileSync(file, 'utf8') : '';
  } catch (error) {
    // Fail closed: a missing or unreadable file refuses startup instead of falling back to Node's defaults
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'read failed';
    throw configError(
      'ERR_MTLS_CONFIG_FILE_UNREADABLE',
      label,
      `cannot be read (${reason})`,
      `check that the file exists and that this process (uid ${process.getuid?.() ?? 'n/a'}) may read it`,
      error,
    );
  }
  // A directory or device is a wrong path, not an empty PEM
  if (!isFile) {
    throw configError(
      'ERR_MTLS_CONFIG_FILE_UNREADABLE',
      label,
      'is not a regular file',
      `point ${option} at the PEM file itself`,
    );
  }
  return { text, label, file };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/=\s]*$/;

/** Every PEM block in `text`, in order. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const type = match[1] as string;
    const body = match[2] as string;
    // a body with RFC 1421 headers (an encrypted legacy key) is not base64: leave `der` empty, keys are read from `pem`
    blocks.push({ type, der: BASE64_BODY.test(body) ? Buffer.from(body, 'base64') : Buffer.alloc(0), pem: match[0] });
  }
  return blocks;
}
