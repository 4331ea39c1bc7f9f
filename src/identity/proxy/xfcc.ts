/**
 * Envoy's `x-forwarded-client-cert` (XFCC), parsed for real: elements separated by `,` (one per proxy hop, each
 * appended at the end), `Key=Value` pairs separated by `;`, keys case-insensitive, values double-quoted when they
 * contain `,` `;` `=`. Inside quotes a backslash escapes the next character: `\"` is a quote, any other pair is kept
 * as written (the quoted `Subject` is RFC 4514 text with its own escapes). Envoy writes `URI=` and `DNS=` unquoted,
 * so a certificate value can hold `,` or `;`: the caller must confirm every element against its certificate.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-client-cert
 */
import { MalformedHeaderError } from './certificate-encodings.js';

/** One XFCC element: lower-case key → values in order (`DNS` and `URI` may repeat). */
export type XfccElement = ReadonlyMap<string, readonly string[]>;

/** Bounds on hostile headers. */
export interface XfccLimits {
  readonly maxElements: number;
  readonly maxPairs: number;
}

const keyCharacter = /[A-Za-z0-9_-]/;
const isSpace = (char: string | undefined) => char === ' ' || char === '\t';

/**
 * Parses a whole XFCC header into its elements, left to right. Throws {@link MalformedHeaderError} on any syntax
 * error (an unterminated quote, a quote inside an unquoted value, an empty key or element) or a bound exceeded.
 */
export function parseXfcc(header: string, limits: XfccLimits): XfccElement[] {
  const elements: Map<string, string[]>[] = [];
  let current = new Map<string, string[]>();
  let pairs = 0;
  let i = 0;
  const skipSpaces = () => {
    while (isSpace(header[i])) i += 1;
  };
  for (;;) {
    skipSpaces();
    const keyStart = i;
    while (i < header.length && keyCharacter.test(header[i] as string)) i += 1;
    const key = header.slice(keyStart, i).toLowerCase();
    // A naive split(';') breaks on quoted values; this is a scanner, so an empty key is an error.
    if (key === '' || header[i] !== '=') throw new MalformedHeaderError('expected Key=');
    i += 1;
    let value = '';
    if (header[i] === '"') {
      i += 1;
      for (;;) {
        const char = header[i];
        if (char === undefined) throw new MalformedHeaderError('unterminated quoted value');
        i += 1;
        if (char === '"') break;
        if (char === '\\') {
          // A backslash always takes the next character with it (RFC 9110 §5.6.4 quoted-pair): the quoted Subject
          // is RFC 4514 text in which `\\` is an escaped backslash, so `CN=a\\` closes at the quote that follows.
          const escaped = header[i];
          if (escaped === undefined) throw new MalformedHeaderError('unterminated quoted value');
          i += 1;
          // Envoy's only escape is \" for '"'; other pairs stay as written, so RFC 4514 escapes reach the DN parser.
          value += escaped === '"' ? '"' : `\\${escaped}`;
        } else {
          value += char;
        }
      }
    } else {
      const valueStart = i;
      while (i < header.length && header[i] !== ';' && header[i] !== ',') i += 1;
      value = header.slice(valueStart, i).replace(/[ \t]+$/, '');
      // A quote inside an unquoted value means the header was built by string concatenation: refuse it.
      if (value.includes('"')) throw new MalformedHeaderError('quote inside an unquoted value');
    }
    pairs += 1;
    if (pairs > limits.maxPairs) throw new MalformedHeaderError('too many pairs in an element');
    const values = current.get(key);
    if (values === undefined) current.set(key, [value]);
    else values.push(value);
    skipSpaces();
    const separator = header[i];
    i += 1;
    if (separator === ';') continue;
    elements.push(current);
    if (elements.length > limits.maxElements) throw new MalformedHeaderError('too many elements');
    if (separator === undefined) break;
    if (separator !== ',') throw new MalformedHeaderError('unexpected character after a value');
    current = new Map();
    pairs = 0;
  }
  return elements;
}

/**
 * The element describing the client as seen by the outermost trusted proxy: with `hops` trusted proxies each
 * appending one element, it is `hops` from the right. Elements further left came from outside the trust boundary
 * (a parser taking the first `Cert=` trusts the attacker's element).
 */
export function selectElement(elements: readonly XfccElement[], hops: number): XfccElement {
  const element = elements[elements.length - hops];
  if (element === undefined) throw new MalformedHeaderError('fewer elements than trusted hops');
  return element;
}

/** The single value of a key, `undefined` when absent; a repeated single-valued key is malformed. */
export function singleValue(element: XfccElement, key: string): string | undefined {
  const values = element.get(key);
  if (values === undefined) return undefined;
  if (values.length !== 1) throw new MalformedHeaderError(`repeated ${key}`);
  return values[0];
}
