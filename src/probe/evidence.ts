/**
 * Decides by content whether a response carries host data: markers read from the probing machine's own files when
 * the service runs on it, and signatures of those files otherwise. A status code alone never makes a finding.
 *
 * @module probe/evidence
 */
import { readFile } from 'node:fs/promises';
import { HOST_TARGETS, type HostTarget } from './payloads.js';

/** What a response gave away. */
export interface Evidence {
  /** `host-content`: bytes of a host file; `host-path-error`: an error message naming an absolute host path. */
  readonly kind: 'host-content' | 'host-path-error';
  /** Which marker or signature matched, e.g. `signature:passwd` or `local:/etc/hosts`. */
  readonly marker: string;
  /** The matching part of the body, truncated and with control characters escaped. */
  readonly excerpt: string;
}

/** Inspects response bodies; `target` is the file the probe aimed at, when it aimed at one. */
export interface Detector {
  inspect(body: string, target?: HostTarget): Evidence | undefined;
}

interface Signature {
  readonly id: string;
  readonly pattern: RegExp;
  /** Only for responses to probes aimed at this target: the shape is too common elsewhere. */
  readonly onlyFor?: string;
}

const SIGNATURES: readonly Signature[] = [
  // passwd(5): the superuser entry, name:password:UID:GID.
  { id: 'passwd', pattern: /\broot:[^:\r\n]*:0:0:/ },
  // hosts(5): the loopback entry every resolver file has.
  { id: 'hosts', pattern: /^[ \t]*(?:127\.0\.0\.1|::1)[ \t]+[^\r\n]*\blocalhost\b/m },
  // proc(5) environ: NAME=value entries separated by NUL (raw, or \u0000 once a handler JSON-encoded it).
  { id: 'environ', pattern: /[A-Za-z_][A-Za-z0-9_]*=[^\0\r\n]*(?:\0|\\u0000)[A-Za-z_][A-Za-z0-9_]*=/ },
  // A Kubernetes service-account token is a JWS compact serialization (RFC 7515 §7.1) of a JSON header.
  {
    id: 'service-account-token',
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/,
    onlyFor: 'service-account-token',
  },
];

// A Node fs error (`ENOENT: no such file or directory, open '/srv/x'`) echoed to the client reveals the host layout.
const PATH_ERROR = /\bE[A-Z]{2,}: [^'\r\n]{0,80}?, [a-z]+ '\/[^'\r\n]*'/;

/** Files whose content differs per process or that are not regular files: no local marker. */
const NO_LOCAL_MARKER: ReadonlySet<string> = new Set([
  'proc-self-environ',
  'docker-socket',
  'containerd-socket',
  'service-account-token',
]);

/** A local file shorter than this is matched only as the whole body, never as a substring. */
const MIN_SUBSTRING_MARKER = 12;

const EXCERPT_CHARS = 96;

/** Text with control and bidi characters escaped (CVE-2021-42574 class), safe for terminals and logs. */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, (char) => {
    if (char === '\n') return '\\n';
    if (char === '\0') return '\\0';
    return `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
  });
}

/** The matched text, at most {@link EXCERPT_CHARS} characters of it, escaped for terminals and logs. */
function excerpt(body: string, index: number, length: number): string {
  const text = body.slice(index, index + Math.min(length, EXCERPT_CHARS));
  return printable(text) + (length > EXCERPT_CHARS ? '…' : '');
}

interface LocalMarker {
  readonly target: string;
  readonly content: string;
}

/** Reads the host-target files of this machine; unreadable ones are skipped. */
async function readLocalMarkers(read: (path: string) => Promise<string>): Promise<LocalMarker[]> {
  const markers: LocalMarker[] = [];
  for (const target of HOST_TARGETS) {
    if (NO_LOCAL_MARKER.has(target.id)) continue;
    const content = await read(target.path).then(
      (text) => text.trim(),
      () => '',
    );
    if (content !== '' && !markers.some((marker) => marker.content === content)) {
      markers.push({ target: target.path, content });
    }
  }
  return markers;
}

/**
 * Makes a detector. With `local`, the service runs on this machine (a loopback origin), so the content of this
 * machine's `/etc/hostname`, `/etc/hosts` and `/etc/passwd` is a marker too.
 */
export async function createDetector(
  options: { readonly local: boolean; readonly read?: (path: string) => Promise<string> } = { local: false },
): Promise<Detector> {
  const markers = options.local ? await readLocalMarkers(options.read ?? ((path) => readFile(path, 'utf8'))) : [];
  return {
    inspect(body, target) {
      for (const marker of markers) {
        const trimmed = body.trim();
        if (marker.content.length < MIN_SUBSTRING_MARKER) {
          if (trimmed === marker.content) {
            return {
              kind: 'host-content',
              marker: `local:${marker.target}`,
              excerpt: excerpt(trimmed, 0, trimmed.length),
            };
          }
          continue;
        }
        const index = body.indexOf(marker.content);
        if (index >= 0) {
          return {
            kind: 'host-content',
            marker: `local:${marker.target}`,
            excerpt: excerpt(body, index, marker.content.length),
          };
        }
      }
      for (const signature of SIGNATURES) {
        if (signature.onlyFor !== undefined && signature.onlyFor !== target?.id) continue;
        const match = signature.pattern.exec(body);
        if (match !== null) {
          // The excerpt runs on past the signature: the line it starts shows what the file was.
          return {
            kind: 'host-content',
            marker: `signature:${signature.id}`,
            excerpt: excerpt(body, match.index, body.length - match.index),
          };
        }
      }
      const error = PATH_ERROR.exec(body);
      if (error !== null) {
        return {
          kind: 'host-path-error',
          marker: 'signature:fs-error',
          excerpt: excerpt(body, error.index, error[0].length),
        };
      }
      return undefined;
    },
  };
}
