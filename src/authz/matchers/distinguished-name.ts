/**
 * Distinguished-name attribute patterns, matched per value of the typed DN — never a regex over the DN string
 * (Spring's `CN=(.*?),` and nginx's `~CN=` are hijacked by another attribute's value: notes §4 pitfall 17).
 * DN values are not paths, so `*` here is "any run of characters" and `/` is an ordinary character.
 */
import { leadingSyntaxProblem } from './glob.js';

/** A compiled DN value pattern. */
export interface DnValuePattern {
  readonly exact: string | undefined;
  readonly regex: RegExp | undefined;
  readonly bare: boolean;
  readonly text: string;
}

/** Compiles one DN value pattern, or throws an `Error` whose message completes "<path> …". */
export function compileDnValuePattern(pattern: string): DnValuePattern {
  const leading = leadingSyntaxProblem(pattern);
  if (leading !== undefined) throw new Error(leading);
  if (!pattern.includes('*')) return Object.freeze({ exact: pattern, regex: undefined, bare: false, text: pattern });
  const source = pattern
    .split(/\*+/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*');
  return Object.freeze({
    exact: undefined,
    regex: new RegExp(`^${source}$`, 'u'),
    bare: /^\*+$/.test(pattern),
    text: pattern,
  });
}

/** Whether one attribute value matches a compiled pattern. */
export function matchesDnValue(pattern: DnValuePattern, value: string): boolean {
  if (pattern.exact !== undefined) return pattern.exact === value;
  return pattern.regex?.test(value) === true;
}
