/**
 * The one place minimatch is configured. Every pattern is compiled once, at startup; per request only `match` runs.
 */
import { Minimatch, type MinimatchOptions } from 'minimatch';

/**
 * Negation, comments, extglobs and braces are off (a leading `!` would turn an allow entry into "everything else",
 * and a leading `#` a comment that never matches; extglobs carry CVE-2026-27904). `dot` lets `*` match a segment starting with `.`, but minimatch
 * still never matches `.` or `..` segments with a wildcard.
 */
const GLOB_OPTIONS: MinimatchOptions = Object.freeze({
  nonegate: true,
  nocomment: true,
  noext: true,
  nobrace: true,
  dot: true,
  optimizationLevel: 0,
  // `/` is the only separator on every platform (win32 would also split on `\`).
  platform: 'linux',
});

/** A compiled glob over `/`-separated segments: `*` = within one segment, `**` = any number of segments. */
export function compileSegmentGlob(pattern: string): Minimatch {
  return new Minimatch(pattern, GLOB_OPTIONS);
}

/**
 * Why a `/`-separated glob path is not allowed, or `undefined`: every segment is `**` or holds at most one `*`. Two
 * stars in one segment (`*a*a*x`) make minimatch's regex backtrack polynomially on a long segment (ReDoS,
 * CWE-1333); one keeps it linear.
 */
export function segmentGlobProblem(path: string): string | undefined {
  for (const segment of path.split('/')) {
    if (segment === '**') continue;
    if (segment.includes('**')) return "may use '**' only as a whole path segment";
    if (segment.indexOf('*') !== segment.lastIndexOf('*')) return "may use at most one '*' per path segment";
  }
  return undefined;
}

/** Rejects the pattern prefixes minimatch would give a special meaning (`!` negates, `#` comments). */
export function leadingSyntaxProblem(pattern: string): string | undefined {
  if (pattern.startsWith('!')) return "must not start with '!' (negation is not pattern syntax; use { not: … })";
  if (pattern.startsWith('#')) return "must not start with '#' (a comment pattern never matches)";
  return undefined;
}
