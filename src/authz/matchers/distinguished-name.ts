/**
 * Distinguished-name attribute patterns, matched per value of the typed DN — never a regex over the DN string
 * (Spring's `CN=(.*?),` and nginx's `~CN=` are hijacked by another attribute's value that contains `CN=`).
 * DN values are not paths, so `*` here is "any run of characters" and `/` is an ordinary character.
 */
import { leadingSyntaxProblem } from './glob.js';

/** A compiled DN value pattern. */
export interface DnValuePattern {
  readonly exact: string | undefined;
  /** The literal pieces between `*`s, for {@link wildcardMatch}. */
  readonly pieces: readonly string[] | undefined;
  readonly bare: boolean;
  readonly text: string;
}

/**
 * Compiles one DN value pattern, or throws an `Error` whose message completes "<path> …".
 */
export function compileDnValuePattern(pattern: string): DnValuePattern {
  const leading = leadingSyntaxProblem(pattern);
  if (leading !== undefined) throw new Error(leading);
  if (!pattern.includes('*')) return Object.freeze({ exact: pattern, pieces: undefined, bare: false, text: pattern });
  return Object.freeze({
    exact: undefined,
    pieces: Object.freeze(pattern.split(/\*+/)),
    bare: /^\*+$/.test(pattern),
    text: pattern,
  });
}

/**
 * Whether `value` is `pieces[0]*pieces[1]*…*pieces[n]`: the first piece a prefix, the last a suffix, the others in
 * order, each found left-most. Greedy left-most search is exact for `*` globs and makes one left-to-right pass, so no
 * pattern can backtrack (a regex like `^.*a.*a.*x$` can: ReDoS, CWE-1333).
 */
function wildcardMatch(pieces: readonly string[], value: string): boolean {
  const first = pieces[0] ?? '';
  const last = pieces[pieces.length - 1] ?? '';
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let position = first.length;
  const end = value.length - last.length;
  for (let index = 1; index < pieces.length - 1; index++) {
    const piece = pieces[index] ?? '';
    const found = value.indexOf(piece, position);
    if (found === -1 || found + piece.length > end) return false;
    position = found + piece.length;
  }
  return true;
}

/** Whether one attribute value matches a compiled pattern. */
export function matchesDnValue(pattern: DnValuePattern, value: string): boolean {
  if (pattern.exact !== undefined) return pattern.exact === value;
  return pattern.pieces !== undefined && wildcardMatch(pattern.pieces, value);
}
