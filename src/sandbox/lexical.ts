/**
 * The lexical half of the sandbox: a pure, deterministic check of one request-derived relative path, with no I/O.
 *
 * The input must already be decoded **exactly once** by its source (a router parameter, a query value, a header).
 * Anything that could still change meaning downstream (a leftover `%`, a `..` segment, a backslash, a drive colon,
 * a Unicode look-alike) is rejected with a stable reason code, never repaired. The rules and their sources are listed in docs/sandbox.md (_Lexical rules_).
 *
 * @module sandbox/lexical
 */
import { InvalidOptionError } from '../errors.js';
import { assertOptionsObject, optionalBoolean, optionalChoice, optionalInteger } from '../options/validate.js';

/**
 * Why a path was refused by the lexical rules. Stable: these codes reach audit hooks and dashboards.
 *
 * @example
 * ```ts
 * import { type SandboxPathReason, validateSandboxPath } from 'koa-mtls';
 *
 * const attempts = new Map<SandboxPathReason, number>();
 * const result = validateSandboxPath('../etc/passwd');
 * if (!result.ok) attempts.set(result.reason, (attempts.get(result.reason) ?? 0) + 1); // 'PATH_DOT_SEGMENT'
 * ```
 */
export type SandboxPathReason =
  | 'PATH_NOT_STRING'
  | 'PATH_EMPTY'
  | 'PATH_TOO_LONG'
  | 'PATH_TOO_DEEP'
  | 'PATH_SEGMENT_TOO_LONG'
  | 'PATH_MALFORMED_ENCODING'
  | 'PATH_PERCENT'
  | 'PATH_CONTROL_CHAR'
  | 'PATH_BACKSLASH'
  | 'PATH_COLON'
  | 'PATH_REPLACEMENT_CHAR'
  | 'PATH_LONE_SURROGATE'
  | 'PATH_INVISIBLE_CHAR'
  | 'PATH_NOT_NFC'
  | 'PATH_NOT_NFKC'
  | 'PATH_ABSOLUTE'
  | 'PATH_TRAILING_SLASH'
  | 'PATH_EMPTY_SEGMENT'
  | 'PATH_DOT_SEGMENT'
  | 'PATH_DOTFILE'
  | 'PATH_TRAILING_DOT_OR_SPACE'
  | 'PATH_WINDOWS_DEVICE'
  | 'PATH_CHARSET';

/**
 * Options of the lexical rules. Every field is optional; the defaults are the recommended policy.
 *
 * @example
 * ```ts
 * import { type SandboxPathRules, validateSandboxPath } from 'koa-mtls';
 *
 * const rules: SandboxPathRules = { allowDotfiles: false, charset: 'strict', maxDepth: 8 };
 * validateSandboxPath('a/b.txt', rules);
 * ```
 */
export interface SandboxPathRules {
  /** Maximum length of the whole input in UTF-16 code units. Default 1024 (1–4096). */
  readonly maxLength?: number;
  /** Maximum number of `/`-separated segments. Default 32 (1–255). */
  readonly maxDepth?: number;
  /** Maximum UTF-8 byte length of one segment. Default 255, the Linux `NAME_MAX` (1–255). */
  readonly maxSegmentBytes?: number;
  /** Allow segments that start with `.` (`.well-known`, `.env`). Default `false`. `.` and `..` are never allowed. */
  readonly allowDotfiles?: boolean;
  /**
   * `'unicode'` (default): any character not refused by the other rules. `'strict'`: each segment must match
   * `^[A-Za-z0-9_][A-Za-z0-9._~-]*$` (a leading `.` too when dotfiles are allowed).
   */
  readonly charset?: 'unicode' | 'strict';
}

/**
 * The compiled, frozen form of {@link SandboxPathRules}.
 */
export interface CompiledPathOptions {
  readonly maxLength: number;
  readonly maxDepth: number;
  readonly maxSegmentBytes: number;
  readonly allowDotfiles: boolean;
  readonly charset: 'unicode' | 'strict';
}

/**
 * A path the lexical rules accepted: the canonical relative path and its segments.
 *
 * @example
 * ```ts
 * import { type SandboxPathAccepted, validateSandboxPath } from 'koa-mtls';
 *
 * const accepted = validateSandboxPath('a/b.txt') as SandboxPathAccepted; // accepted.segments: ['a', 'b.txt']
 * ```
 */
export interface SandboxPathAccepted {
  readonly ok: true;
  /** The validated relative path (`segments.join('/')`), identical to the input. */
  readonly path: string;
  /** Its non-empty segments, none of them `.` or `..`. */
  readonly segments: readonly string[];
}

/**
 * A path the lexical rules refused, with the first rule it broke.
 *
 * @example
 * ```ts
 * import { type SandboxPathRejected, validateSandboxPath } from 'koa-mtls';
 *
 * const rejected = validateSandboxPath('a//b') as SandboxPathRejected; // rejected.reason: 'PATH_EMPTY_SEGMENT'
 * ```
 */
export interface SandboxPathRejected {
  readonly ok: false;
  readonly reason: SandboxPathReason;
}

/**
 * The result of {@link validateSandboxPath}: narrow on `ok`.
 *
 * @example
 * ```ts
 * import { type SandboxPathResult, validateSandboxPath } from 'koa-mtls';
 *
 * const result: SandboxPathResult = validateSandboxPath('reports/2024.pdf');
 * if (result.ok) console.log(result.segments);
 * else console.log(result.reason);
 * ```
 */
export type SandboxPathResult = SandboxPathAccepted | SandboxPathRejected;

/**
 * The option keys {@link compilePathOptions} accepts, for factories that embed them.
 */
export const PATH_OPTION_KEYS = ['maxLength', 'maxDepth', 'maxSegmentBytes', 'allowDotfiles', 'charset'] as const;

// Captured at module load: a guard must not depend on globals user code can patch later (CVE-2024-21891).
const normalize = String.prototype.normalize;
const byteLength = Buffer.byteLength;

// C0 controls, DEL and C1 controls: NUL truncates C strings; CR/LF split logs and headers.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point of this rule.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Zero-width and bidi format characters (Trojan Source, CVE-2021-42574), word joiners, BOM, Arabic letter mark.
const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;
// Windows reserved device names, any case, with any extension (CVE-2025-27210); superscripts count as digits.
const WINDOWS_DEVICE =
  /^(?:con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$|clock\$) *(?:\.|$)/i;
// An unpaired UTF-16 surrogate has no UTF-8 form: Node would write U+FFFD, a different name than the one checked.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const STRICT_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._~-]*$/;
const STRICT_DOT_SEGMENT = /^\.?[A-Za-z0-9_][A-Za-z0-9._~-]*$/;

const DEFAULTS: CompiledPathOptions = Object.freeze({
  maxLength: 1024,
  maxDepth: 32,
  maxSegmentBytes: 255,
  allowDotfiles: false,
  charset: 'unicode',
});

/**
 * Validates and freezes lexical options (at startup). Throws {@link InvalidOptionError} naming the bad option.
 */
export function compilePathOptions(
  options: Readonly<Record<string, unknown>> | undefined,
  path: string,
  extraKeys: readonly string[] = [],
): CompiledPathOptions {
  if (options === undefined) return DEFAULTS;
  assertOptionsObject(options, path, [...PATH_OPTION_KEYS, ...extraKeys]);
  return Object.freeze({
    maxLength: optionalInteger(options, 'maxLength', path, 1, 4096) ?? DEFAULTS.maxLength,
    maxDepth: optionalInteger(options, 'maxDepth', path, 1, 255) ?? DEFAULTS.maxDepth,
    maxSegmentBytes: optionalInteger(options, 'maxSegmentBytes', path, 1, 255) ?? DEFAULTS.maxSegmentBytes,
    allowDotfiles: optionalBoolean(options, 'allowDotfiles', path) ?? DEFAULTS.allowDotfiles,
    charset: optionalChoice(options, 'charset', path, ['unicode', 'strict'] as const) ?? DEFAULTS.charset,
  });
}

const reject = (reason: SandboxPathReason): SandboxPathRejected => Object.freeze({ ok: false, reason });

/**
 * Checks one input against compiled options; the core of {@link validateSandboxPath}.
 */
export function checkPath(input: unknown, options: CompiledPathOptions): SandboxPathResult {
  // Strings only: arrays (repeated query keys), objects (qs), Buffers and URLs bypassed Node's own checks (CVE-2023-32004).
  if (typeof input !== 'string') return reject('PATH_NOT_STRING');
  if (input.length === 0) return reject('PATH_EMPTY');
  // Length first, so a megabyte of input costs nothing more than this comparison.
  if (input.length > options.maxLength) return reject('PATH_TOO_LONG');
  if (CONTROL.test(input)) return reject('PATH_CONTROL_CHAR');
  // A `%` after the one decode is double encoding or a malformed escape (CVE-2021-41773, GHSA-wr4h-v87w-p3r7).
  if (input.includes('%')) return reject('PATH_PERCENT');
  // `\` is a separator on Windows and in many normalizers (`..\..\`).
  if (input.includes('\\')) return reject('PATH_BACKSLASH');
  // `:` makes drive-relative paths and NTFS streams (CVE-2025-23084, CVE-2018-3732).
  if (input.includes(':')) return reject('PATH_COLON');
  // U+FFFD is what a failed decode leaves behind (querystring turns overlong `%c0%ae` into it).
  if (input.includes('\ufffd')) return reject('PATH_REPLACEMENT_CHAR');
  if (LONE_SURROGATE.test(input)) return reject('PATH_LONE_SURROGATE');
  if (INVISIBLE.test(input)) return reject('PATH_INVISIBLE_CHAR');
  // One byte sequence per name: a non-NFC name could differ from the one a glob or a macOS volume sees.
  if (normalize.call(input, 'NFC') !== input) return reject('PATH_NOT_NFC');
  // NFKC folds `．．` (U+FF0E), `․․` (U+2024) and `／` (U+FF0F) into `..` and `/` for any later normalizer.
  if (normalize.call(input, 'NFKC') !== input) return reject('PATH_NOT_NFKC');
  if (input.charCodeAt(0) === 0x2f) return reject('PATH_ABSOLUTE');
  // `link/` makes the kernel follow a final symlink despite O_NOFOLLOW (Go CVE-2026-39822).
  if (input.charCodeAt(input.length - 1) === 0x2f) return reject('PATH_TRAILING_SLASH');
  const segments = input.split('/');
  if (segments.length > options.maxDepth) return reject('PATH_TOO_DEEP');
  for (const segment of segments) {
    if (segment.length === 0) return reject('PATH_EMPTY_SEGMENT');
    // Any `.`/`..`, even `a/../a`: containment must not depend on normalize() semantics (CVE-2017-14849).
    if (segment === '.' || segment === '..') return reject('PATH_DOT_SEGMENT');
    if (byteLength(segment, 'utf8') > options.maxSegmentBytes) return reject('PATH_SEGMENT_TOO_LONG');
    // `.env`, `.git/config`, `...`: hidden unless the operator opts in (send's `dotfiles: 'ignore'` default).
    if (segment.charCodeAt(0) === 0x2e && !options.allowDotfiles) return reject('PATH_DOTFILE');
    // Windows strips a trailing dot or space, so `secret.txt.` would name `secret.txt` there.
    const last = segment.charCodeAt(segment.length - 1);
    if (last === 0x2e || last === 0x20) return reject('PATH_TRAILING_DOT_OR_SPACE');
    if (WINDOWS_DEVICE.test(segment)) return reject('PATH_WINDOWS_DEVICE');
    if (options.charset === 'strict') {
      const pattern = options.allowDotfiles ? STRICT_DOT_SEGMENT : STRICT_SEGMENT;
      if (!pattern.test(segment)) return reject('PATH_CHARSET');
    }
  }
  return Object.freeze({ ok: true, path: input, segments: Object.freeze(segments) });
}

const compiledCache = new WeakMap<object, CompiledPathOptions>();

/**
 * Checks a request-derived relative path against the lexical rules, without touching the filesystem.
 *
 * The input must be one string, decoded exactly once by its source. Accepted paths have no `.`/`..`/empty segments,
 * no leading or trailing `/`, no `%`, `\`, `:`, control, zero-width or bidi characters, are NFC- and NFKC-stable,
 * are not Windows device names and do not end a segment with a dot or space. Passing the check does **not** mean the
 * path is safe to join onto a root: open it with a {@link Sandbox}, which also contains symlinks.
 *
 * An options object is compiled on first use and cached by identity; a mutated options object is not re-read.
 * Malformed options throw {@link InvalidOptionError}.
 *
 * @example
 * ```ts
 * import { validateSandboxPath } from 'koa-mtls';
 * validateSandboxPath('reports/2024.pdf');   // { ok: true, path: 'reports/2024.pdf', segments: ['reports', '2024.pdf'] }
 * validateSandboxPath('../etc/passwd');      // { ok: false, reason: 'PATH_DOT_SEGMENT' }
 * validateSandboxPath('.env', { allowDotfiles: true }).ok; // true
 * ```
 */
export function validateSandboxPath(input: unknown, options?: SandboxPathRules): SandboxPathResult {
  if (options === undefined) return checkPath(input, DEFAULTS);
  let compiled = compiledCache.get(options);
  if (compiled === undefined) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidOptionError('options', 'must be a plain object');
    compiled = compilePathOptions(options as Readonly<Record<string, unknown>>, 'options');
    compiledCache.set(options, compiled);
  }
  return checkPath(input, compiled);
}
