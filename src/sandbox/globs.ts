/**
 * Allow and deny globs for a sandbox, compiled once at startup with minimatch 11 and matched only against
 * already-validated relative paths (minimatch is not a containment check: `minimatch('/etc/passwd', '**')` is true).
 *
 * @module sandbox/globs
 */
import { Minimatch, type MinimatchOptions } from 'minimatch';
import { InvalidOptionError } from '../errors.js';
import { ownValue } from '../options/validate.js';

/**
 * Compiled allow/deny lists. `allow === null` means "no allow-list": every validated path may be tried.
 */
export interface CompiledGlobs {
  readonly allow: readonly Minimatch[] | null;
  readonly deny: readonly Minimatch[];
}

const MAX_PATTERNS = 256;
const MAX_PATTERN_LENGTH = 1024;

function compileList(
  object: Record<string, unknown>,
  key: 'allow' | 'deny',
  path: string,
  options: MinimatchOptions,
): Minimatch[] | undefined {
  const value = ownValue(object, key);
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > MAX_PATTERNS) {
    throw new InvalidOptionError(`${path}.${key}`, `must be an array of at most ${MAX_PATTERNS} glob strings`);
  }
  // An empty allow-list would refuse every path at request time: say so at startup instead (omit it to allow all).
  if (key === 'allow' && value.length === 0) {
    throw new InvalidOptionError(`${path}.${key}`, 'must not be empty (leave it out to allow every valid path)');
  }
  return value.map((pattern: unknown, index) => {
    const at = `${path}.${key}[${index}]`;
    if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) {
      throw new InvalidOptionError(at, `must be a non-empty string of at most ${MAX_PATTERN_LENGTH} characters`);
    }
    // Globs describe relative paths under the root; an absolute or `..` glob is a configuration mistake.
    if (pattern.startsWith('/') || pattern.includes('\\') || pattern.split('/').includes('..')) {
      throw new InvalidOptionError(at, "must be a relative glob without '\\' or '..' segments");
    }
    const matcher = new Minimatch(pattern, options);
    if (matcher.set.length === 0) throw new InvalidOptionError(at, 'is not a valid glob');
    return matcher;
  });
}

/**
 * Compiles `allow`/`deny` from an options object. Options are fixed (`nonegate`, `nocomment`, `noext`, case-sensitive,
 * POSIX): negation and extglobs make lists hard to audit. Patterns are trusted configuration (minimatch ReDoS
 * CVE-2026-26996/27903/27904), never request input.
 * Allow globs match dotfile segments only when `allowDotfiles` is on; deny globs always do.
 */
export function compileGlobs(object: Record<string, unknown>, path: string, allowDotfiles: boolean): CompiledGlobs {
  const base: MinimatchOptions = { nonegate: true, nocomment: true, noext: true, nocase: false, platform: 'linux' };
  const allow = compileList(object, 'allow', path, { ...base, dot: allowDotfiles });
  const deny = compileList(object, 'deny', path, { ...base, dot: true });
  return Object.freeze({ allow: allow ? Object.freeze(allow) : null, deny: Object.freeze(deny ?? []) });
}

/**
 * Whether the allow-list admits `relative` (always true without an allow-list).
 */
export function isAllowed(globs: CompiledGlobs, relative: string): boolean {
  return globs.allow === null || globs.allow.some((m) => m.match(relative));
}

/**
 * Whether any deny glob matches `relative`.
 */
export function isDenied(globs: CompiledGlobs, relative: string): boolean {
  return globs.deny.some((m) => m.match(relative));
}
