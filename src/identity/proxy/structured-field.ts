/**
 * The two RFC 8941 structured-field shapes RFC 9440 uses: `Client-Cert` (an Item that is a Byte Sequence) and
 * `Client-Cert-Chain` (a List of Byte Sequences). Parameters are parsed and ignored (RFC 8941 §3.1.2); anything
 * else fails the whole field, as RFC 8941 §4.2 requires.
 */
import { decodeBase64, MalformedHeaderError } from './certificate-encodings.js';

const parameterKey = /^[a-z*][a-z0-9_.*-]*$/;
// Tokens, integers/decimals, booleans and byte sequences; quoted strings are refused (see below).
const bareItem = /^(?:[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*|-?\d{1,15}(?:\.\d{1,3})?|\?[01]|:[A-Za-z0-9+/=]*:)$/;

/** Parses `:base64:` followed by optional `;key[=value]` parameters. */
function parseByteSequenceMember(member: string): Uint8Array {
  const match = /^:([A-Za-z0-9+/=]*):(.*)$/.exec(member);
  if (match === null) throw new MalformedHeaderError('expected a byte sequence');
  const parameters = match[2] as string;
  // Quoted-string parameters could hide `,` and `;`; RFC 9440 defines no parameters, so none are needed.
  if (parameters.includes('"')) throw new MalformedHeaderError('quoted parameters are not supported');
  if (parameters !== '') {
    // RFC 8941 §3.1.2: parameters are `;` key [ "=" bare-item ], with optional spaces after `;`.
    for (const parameter of parameters.split(';').slice(1)) {
      const [key, ...value] = parameter.trimStart().split('=');
      if (!parameterKey.test(key ?? '') || (value.length > 0 && !bareItem.test(value.join('=')))) {
        throw new MalformedHeaderError('invalid parameter');
      }
    }
    if (!parameters.startsWith(';')) throw new MalformedHeaderError('unexpected characters after a byte sequence');
  }
  return decodeBase64(match[1] as string);
}

/** RFC 9440 §2.2 `Client-Cert`: one Byte Sequence Item. */
export function parseByteSequenceItem(value: string): Uint8Array {
  // RFC 8941 §4.2: leading and trailing spaces are discarded; a second member (e.g. a repeated header) is invalid.
  return parseByteSequenceMember(value.replace(/^ +| +$/g, ''));
}

/** RFC 9440 §2.3 `Client-Cert-Chain`: a List of Byte Sequences, at most `limit` members. */
export function parseByteSequenceList(value: string, limit: number): Uint8Array[] {
  const text = value.replace(/^ +| +$/g, '');
  if (text === '') return [];
  // Byte sequences and the (unquoted) parameters we accept contain no commas, so splitting on ',' is exact.
  if (text.includes('"')) throw new MalformedHeaderError('quoted parameters are not supported');
  const members = text.split(',').map((member) => member.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (members.length > limit) throw new MalformedHeaderError('too many certificates');
  // RFC 8941 §4.2.1: an empty member (trailing comma) fails the list.
  return members.map((member) => {
    if (member === '') throw new MalformedHeaderError('empty list member');
    return parseByteSequenceMember(member);
  });
}
