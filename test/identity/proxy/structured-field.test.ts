import { describe, expect, it } from 'vitest';
import { MalformedHeaderError } from '../../../src/identity/proxy/certificate-encodings.js';
import { parseByteSequenceItem, parseByteSequenceList } from '../../../src/identity/proxy/structured-field.js';

const bytes = (text: string) => Array.from(Buffer.from(text));

describe('when parsing an RFC 9440 Client-Cert item', () => {
  it.each([
    [':aGVsbG8=:', 'hello'],
    ['  :aGVsbG8=:  ', 'hello'],
    [':aGVsbG8=:;a=1;b;c=?1;d=tok', 'hello'],
  ])('decodes %j', (value, text) => {
    expect(Array.from(parseByteSequenceItem(value))).toEqual(bytes(text));
  });

  it.each([
    ['no colons', 'aGVsbG8='],
    ['a missing closing colon', ':aGVsbG8='],
    ['a character outside base64', ':aGV$bG8=:'],
    ['URL-safe base64', ':aGV-bG8_:'],
    ['an empty byte sequence', '::'],
    ['two items (a repeated header joined by Node)', ':aGVsbG8=:, :aGVsbG8=:'],
    ['a quoted parameter hiding a comma', ':aGVsbG8=:;a="x,y"'],
    ['a parameter with an upper-case key', ':aGVsbG8=:;A=1'],
    ['text after the item', ':aGVsbG8=:x'],
    ['a tab inside', ':aGVs\tbG8=:'],
    // Canonical base64 only: one certificate has one byte-sequence text (RFC 4648 §3.2, §3.5).
    ['missing padding', ':aGVsbG8:'],
    ['non-zero pad bits', ':aGVsbG9=:'],
    ['extra padding', ':aGVsbG8==:'],
  ])('refuses %s', (_label, value) => {
    expect(() => parseByteSequenceItem(value)).toThrow(MalformedHeaderError);
  });
});

describe('when parsing an RFC 9440 Client-Cert-Chain list', () => {
  it('decodes every member in order, with or without spaces after commas', () => {
    expect(parseByteSequenceList(':YQ==:, :Yg==:,:Yw==:', 5).map((member) => Buffer.from(member).toString())).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('treats an empty field as an empty list', () => {
    expect(parseByteSequenceList('', 5)).toEqual([]);
  });

  it.each([
    ['a trailing comma', ':YQ==:,'],
    ['an empty member', ':YQ==:,,:Yg==:'],
    ['a non-byte-sequence member', ':YQ==:, token'],
    ['more members than the limit', ':YQ==:, :Yg==:, :Yw==:'],
    ['a member without padding', ':YQ==:, :Yg:'],
    ['a member with non-zero pad bits', ':YR==:'],
  ])('refuses %s', (_label, value) => {
    expect(() => parseByteSequenceList(value, 2)).toThrow(MalformedHeaderError);
  });
});
