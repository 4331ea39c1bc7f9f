/**
 * `san.upn`: Microsoft User Principal Names (otherName 1.3.6.1.4.1.311.20.2.3, [MS-WCCE] §2.2.2.7.7.4), `user@suffix`,
 * compared case-insensitively as Active Directory does. `*@suffix` allows every user of one suffix; the suffix is
 * always exact (a UPN suffix is not a DNS name, so there are no label globs). A new SAN type is a file like this one,
 * plus its registry line and its `SanRule` field in `conditions.ts`.
 */
import type { ConditionKind } from '../conditions.js';
import { leadingSyntaxProblem } from './glob.js';

/** A compiled UPN pattern. */
export interface UpnPattern {
  /** The lower-case user, or `undefined` for every user of the suffix. */
  readonly user: string | undefined;
  readonly suffix: string;
  readonly text: string;
}

/** A peer's UPN, lower-cased and split. */
export interface PeerUpn {
  readonly user: string;
  readonly suffix: string;
}

const PART = /^[^\s\p{Cc}@*]+$/u;

/** Splits `user@suffix` at the last `@`; `undefined` when either part is empty or holds a space, control or `*`. */
function split(text: string, allowAnyUser: boolean): PeerUpn | undefined {
  const at = text.lastIndexOf('@');
  const user = text.slice(0, at).toLowerCase();
  const suffix = text.slice(at + 1).toLowerCase();
  if (at <= 0 || !PART.test(suffix)) return undefined;
  if (!(PART.test(user) || (allowAnyUser && user === '*'))) return undefined;
  return { user, suffix };
}

/**
 * Compiles one UPN pattern, or throws an `Error` whose message completes "<path> …".
 */
export function compileUpnPattern(pattern: string): UpnPattern {
  const leading = leadingSyntaxProblem(pattern);
  if (leading !== undefined) throw new Error(leading);
  const parts = split(pattern, true);
  if (parts === undefined) throw new Error("must be 'user@suffix' (or '*@suffix' for every user of a suffix)");
  return Object.freeze({
    user: parts.user === '*' ? undefined : parts.user,
    suffix: parts.suffix,
    text: `${parts.user}@${parts.suffix}`,
  });
}

/** `san.upn`: User Principal Names, exact ones indexed. */
export const upnKind = Object.freeze<ConditionKind<UpnPattern, PeerUpn, 'san.upn'>>({
  key: 'san.upn',
  compile: compileUpnPattern,
  isBare: () => false,
  describePattern: (pattern) => pattern.text,
  peerValues: (view) => view.normalize(view.peer.san.upn, (upn) => split(upn, false)),
  matches: (pattern, upn) => (pattern.user === undefined || pattern.user === upn.user) && pattern.suffix === upn.suffix,
  describe: (view) => `san.upn ${JSON.stringify(view.peer.san.upn)}`,
  exactKey: (pattern) => (pattern.user === undefined ? undefined : `${pattern.user}@${pattern.suffix}`),
  valueKey: (upn) => `${upn.user}@${upn.suffix}`,
});
