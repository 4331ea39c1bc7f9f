/**
 * Email (rfc822Name) patterns `local@domain`: the local part compares exactly (RFC 5321 §2.4: it may be
 * case-sensitive), or `*` for any local part; the domain is a DNS pattern, case-insensitive and label-aware.
 */
import type { ConditionKind } from '../conditions.js';
import { compileDnsPattern, type DnsPattern, matchesDnsPattern, type PeerDnsName, parsePeerDnsName } from './dns.js';
import { leadingSyntaxProblem } from './glob.js';

/** A compiled email pattern. */
export interface EmailPattern {
  /** The exact local part, or `undefined` for any. */
  readonly local: string | undefined;
  readonly domain: DnsPattern;
  readonly bare: boolean;
  readonly text: string;
}

/** A peer's email split for matching. */
export interface PeerEmail {
  readonly local: string;
  readonly domain: PeerDnsName;
}

/**
 * Compiles one email pattern, or throws an `Error` whose message completes "<path> …".
 */
export function compileEmailPattern(pattern: string): EmailPattern {
  const leading = leadingSyntaxProblem(pattern);
  if (leading !== undefined) throw new Error(leading);
  const at = pattern.lastIndexOf('@');
  if (at <= 0) throw new Error("must be 'local@domain' (use '*@domain' for any local part)");
  const localText = pattern.slice(0, at);
  if (localText !== '*' && (localText.includes('*') || /[\s\p{Cc}@]/u.test(localText))) {
    throw new Error("must have an exact local part or '*'");
  }
  const domain = compileDnsPattern(pattern.slice(at + 1));
  const local = localText === '*' ? undefined : localText;
  return Object.freeze({
    local,
    domain,
    bare: local === undefined && domain.bare,
    text: `${localText}@${domain.text}`,
  });
}

/** Splits a peer's email SAN; `undefined` when it is not `local@valid-domain`. */
export function parsePeerEmail(email: string): PeerEmail | undefined {
  const at = email.lastIndexOf('@');
  if (at <= 0) return undefined;
  const local = email.slice(0, at);
  // Control characters and spaces have no place in an rfc822Name SAN (RFC 5280 §4.2.1.6: IA5String mailbox).
  if (/[\s\p{Cc}@]/u.test(local)) return undefined;
  const domain = parsePeerDnsName(email.slice(at + 1));
  if (domain === undefined) return undefined;
  return { local, domain };
}

/** Whether a peer email matches a compiled pattern. */
export function matchesEmailPattern(pattern: EmailPattern, email: PeerEmail): boolean {
  if (pattern.local !== undefined && pattern.local !== email.local) return false;
  return matchesDnsPattern(pattern.domain, email.domain.name, email.domain.labelPath);
}

/** `san.email`: rfc822Names, exact addresses indexed, the others in a trie by their literal domain labels. */
export const emailKind = Object.freeze<ConditionKind<EmailPattern, PeerEmail, 'san.email'>>({
  key: 'san.email',
  compile: compileEmailPattern,
  isBare: (pattern: EmailPattern) => pattern.bare,
  describePattern: (pattern: EmailPattern) => pattern.text,
  peerValues: (view) => view.normalize(view.peer.san.email, parsePeerEmail),
  matches: matchesEmailPattern,
  describe: (view) => `san.email ${JSON.stringify(view.peer.san.email)}`,
  exactKey: (pattern: EmailPattern) =>
    pattern.local === undefined || pattern.domain.exact === undefined
      ? undefined
      : `${pattern.local}@${pattern.domain.exact}`,
  valueKey: (email: PeerEmail) => `${email.local}@${email.domain.name}`,
  prefix: (pattern: EmailPattern) => pattern.domain.suffix,
  valueSegments: (email: PeerEmail) => email.domain.reversedLabels,
});
