/**
 * The one place minimatch is configured. Every pattern is compiled once, at startup; per request only `match` runs.
 */
import { Minimatch, type MinimatchOptions } from 'minimatch';

/**
 * Negation, comments, extglobs and braces are off (a leading `!` would turn an allow entry into "everything else",
 * notes §4 pitfall 30; extglobs carry CVE-2026-27904). `dot` lets `*` match a segment starting with `.`, but minimatch
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

/** Whether the text has glob syntax (only `*` is glob syntax in koa-mtls patterns). */
export function hasWildcard(text: string): boolean {
  return text.includes('*');
}

/** Rejects the pattern prefixes minimatch would give a special meaning (notes §4 pitfall 30). */
export function leadingSyntaxProblem(pattern: string): string | undefined {
  if (pattern.startsWith('!')) return "must not start with '!' (negation is not pattern syntax; use { not: … })";
  if (pattern.startsWith('#')) return "must not start with '#' (a comment pattern never matches)";
  return undefined;
}
