import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { type SandboxPathReason, validateSandboxPath } from '../../src/sandbox/lexical.js';
import { loadTraversalPayloads } from './fixture.js';

describe('validateSandboxPath', () => {
  describe('when the input is a legitimate relative path', () => {
    it.each([
      'index.html',
      'a/b/c.txt',
      'file-name_1.2.txt',
      'do..ts.txt',
      'a..b.txt',
      'a~1.txt',
      'report 2024.pdf',
      'café.txt',
      '日本.txt',
      'emoji-\u{1f600}.txt', // a surrogate pair is well-formed
      'ETC/PASSWD',
      'PROGRA~1/x',
      '∕etc∕passwd', // U+2215 is a plain character to Linux and NFKC-stable: one in-root name
      'CONx/file', // not a device name (nodejs/node#64266 false positive)
      'console.log',
      `${'a/'.repeat(31)}b`,
      'x'.repeat(255),
    ])('accepts %j and returns its segments', (input) => {
      const result = validateSandboxPath(input);
      expect(result).toEqual({ ok: true, path: input, segments: input.split('/') });
      expect(Object.isFrozen(result)).toBe(true);
    });
  });

  describe('when the input is not a single string', () => {
    it.each([
      ['undefined', undefined],
      ['null', null],
      ['number', 42],
      ['array (repeated query key)', ['a', 'b']],
      ['object (qs)', { a: '1' }],
      ['Buffer', Buffer.from('a.txt')],
      ['Uint8Array', new Uint8Array([0x61])],
      ['URL', new URL('file:///etc/passwd')],
      ['String object', new String('a.txt')],
    ])('refuses %s with PATH_NOT_STRING', (_, input) => {
      expect(validateSandboxPath(input)).toEqual({ ok: false, reason: 'PATH_NOT_STRING' });
    });
  });

  const table: ReadonlyArray<readonly [string, SandboxPathReason]> = [
    ['', 'PATH_EMPTY'],
    ['x'.repeat(1025), 'PATH_TOO_LONG'],
    ['x'.repeat(1_000_000), 'PATH_TOO_LONG'],
    [`${'a/'.repeat(32)}b`, 'PATH_TOO_DEEP'],
    ['a/'.repeat(300).slice(0, -1), 'PATH_TOO_DEEP'],
    ['A'.repeat(256), 'PATH_SEGMENT_TOO_LONG'],
    ['é'.repeat(128), 'PATH_SEGMENT_TOO_LONG'], // 256 UTF-8 bytes
    // dot segments, in every position (stricter than Go: no a/../b either)
    ['..', 'PATH_DOT_SEGMENT'],
    ['.', 'PATH_DOT_SEGMENT'],
    ['../etc/passwd', 'PATH_DOT_SEGMENT'],
    ['a/../../etc/passwd', 'PATH_DOT_SEGMENT'],
    ['a/../a', 'PATH_DOT_SEGMENT'],
    ['a/./b', 'PATH_DOT_SEGMENT'],
    ['a/.', 'PATH_DOT_SEGMENT'],
    ['test/../../ROOT/index.js', 'PATH_DOT_SEGMENT'], // root disclosure (CVE-2015-8859)
    // absolute, trailing slash, empty segments
    ['/etc/passwd', 'PATH_ABSOLUTE'],
    ['//etc/passwd', 'PATH_ABSOLUTE'],
    ['/proc/self/root/etc/passwd', 'PATH_ABSOLUTE'],
    ['link/', 'PATH_TRAILING_SLASH'], // Go CVE-2026-39822
    ['secret.txt/', 'PATH_TRAILING_SLASH'],
    ['a//b', 'PATH_EMPTY_SEGMENT'],
    // leftover encodings (the input was decoded once already)
    ['%2e%2e%2fetc%2fpasswd', 'PATH_PERCENT'],
    ['..%2f', 'PATH_PERCENT'],
    ['%c0%ae%c0%ae/', 'PATH_PERCENT'],
    ['%u002e%u002e', 'PATH_PERCENT'],
    ['100%.txt', 'PATH_PERCENT'],
    // separators and drives
    ['..\\..\\windows\\win.ini', 'PATH_BACKSLASH'],
    ['a\\b', 'PATH_BACKSLASH'],
    ['C:foo', 'PATH_COLON'],
    ['file:///etc/passwd', 'PATH_COLON'],
    ['file.txt::$DATA', 'PATH_COLON'],
    ['CON:../../etc/passwd', 'PATH_COLON'],
    // control characters
    ['a\u0000b', 'PATH_CONTROL_CHAR'],
    ['file.txt\u0000.png', 'PATH_CONTROL_CHAR'],
    ['a\nb', 'PATH_CONTROL_CHAR'],
    ['a\r\nb', 'PATH_CONTROL_CHAR'],
    ['a\tb', 'PATH_CONTROL_CHAR'],
    ['a\u007fb', 'PATH_CONTROL_CHAR'],
    ['a\u0085b', 'PATH_CONTROL_CHAR'],
    // Unicode tricks
    ['a\ufffdb', 'PATH_REPLACEMENT_CHAR'],
    ['a\ud800b', 'PATH_LONE_SURROGATE'],
    ['a\udc00', 'PATH_LONE_SURROGATE'],
    ['.\u200b./etc', 'PATH_INVISIBLE_CHAR'],
    ['\u202e../etc', 'PATH_INVISIBLE_CHAR'],
    ['a\u2066b', 'PATH_INVISIBLE_CHAR'],
    ['\ufeffa', 'PATH_INVISIBLE_CHAR'],
    ['a\u00adb', 'PATH_INVISIBLE_CHAR'],
    ['cafe\u0301.txt', 'PATH_NOT_NFC'],
    ['\uff0e\uff0e/etc/passwd', 'PATH_NOT_NFKC'], // fullwidth dots
    ['\uff0e\uff0e\uff0fetc', 'PATH_NOT_NFKC'], // fullwidth slash
    ['\u2024\u2024/etc', 'PATH_NOT_NFKC'], // one-dot leaders
    ['..\u00a0/x', 'PATH_NOT_NFKC'],
    ['com\u00b9', 'PATH_NOT_NFKC'], // superscript, folded by NFKC before the device rule
    ['\ufb01le.txt', 'PATH_NOT_NFKC'],
    // dotfiles
    ['.env', 'PATH_DOTFILE'],
    ['.git/config', 'PATH_DOTFILE'],
    ['a/.hidden/x', 'PATH_DOTFILE'],
    ['...', 'PATH_DOTFILE'],
    ['....', 'PATH_DOTFILE'],
    ['..;', 'PATH_DOTFILE'],
    ['..data/tls.crt', 'PATH_DOTFILE'],
    // Windows names and trailing dot/space
    ['file.txt.', 'PATH_TRAILING_DOT_OR_SPACE'],
    ['file.txt ', 'PATH_TRAILING_DOT_OR_SPACE'],
    ['nul ', 'PATH_TRAILING_DOT_OR_SPACE'],
    ['a./b', 'PATH_TRAILING_DOT_OR_SPACE'],
    ['CON', 'PATH_WINDOWS_DEVICE'],
    ['con', 'PATH_WINDOWS_DEVICE'],
    ['nul.txt', 'PATH_WINDOWS_DEVICE'],
    ['COM1.log', 'PATH_WINDOWS_DEVICE'],
    ['lpt9', 'PATH_WINDOWS_DEVICE'],
    ['a/AUX.tar.gz', 'PATH_WINDOWS_DEVICE'],
    ['CONIN$', 'PATH_WINDOWS_DEVICE'],
    ['conout$.x', 'PATH_WINDOWS_DEVICE'],
    ['CLOCK$', 'PATH_WINDOWS_DEVICE'],
    ['CON .txt', 'PATH_WINDOWS_DEVICE'],
  ];

  describe('when the input breaks a lexical rule', () => {
    it.each(table)('refuses %j with %s', (input, reason) => {
      expect(validateSandboxPath(input)).toEqual({ ok: false, reason });
    });
  });

  describe('when Go filepath.IsLocal cases are checked', () => {
    it.each([
      '',
      '.',
      '..',
      '../a',
      '/',
      '/a',
      '/a/../..',
      'a/../b:/../../c',
      'a/',
      'a/./b/./c',
      'a/../a',
      'nul',
      'COM1',
    ])('refuses %j (Go considers some local; we are stricter)', (input) => {
      expect(validateSandboxPath(input).ok).toBe(false);
    });
  });

  describe('when options change the rules', () => {
    it('accepts dotfiles with allowDotfiles, still never . or ..', () => {
      const options = { allowDotfiles: true };
      expect(validateSandboxPath('.well-known/x', options).ok).toBe(true);
      expect(validateSandboxPath('..data/tls.crt', options).ok).toBe(true);
      expect(validateSandboxPath('../x', options)).toEqual({ ok: false, reason: 'PATH_DOT_SEGMENT' });
      expect(validateSandboxPath('a/.', options)).toEqual({ ok: false, reason: 'PATH_DOT_SEGMENT' });
    });

    it.each([
      ['report 2024.pdf', false],
      ['café.txt', false],
      ['∕etc∕passwd', false],
      ['_a/b-c.d~e', true],
      ['-rf', false],
      ['a/b.txt', true],
    ])('charset strict: %j accepted=%s', (input, ok) => {
      const result = validateSandboxPath(input, { charset: 'strict' });
      expect(result.ok).toBe(ok);
      if (!ok) expect(result).toEqual({ ok: false, reason: 'PATH_CHARSET' });
    });

    it('applies custom limits', () => {
      expect(validateSandboxPath('a/b/c', { maxDepth: 2 })).toEqual({ ok: false, reason: 'PATH_TOO_DEEP' });
      expect(validateSandboxPath('abcdef', { maxLength: 5 })).toEqual({ ok: false, reason: 'PATH_TOO_LONG' });
      expect(validateSandboxPath('abc/de', { maxSegmentBytes: 2 })).toEqual({
        ok: false,
        reason: 'PATH_SEGMENT_TOO_LONG',
      });
    });

    it.each([
      [{ maxDepth: 0 }, 'options.maxDepth'],
      [{ maxLength: 1.5 }, 'options.maxLength'],
      [{ maxSegmentBytes: 256 }, 'options.maxSegmentBytes'],
      [{ allowDotfiles: 'yes' }, 'options.allowDotfiles'],
      [{ charset: 'ascii' }, 'options.charset'],
      [{ maxdepth: 3 }, 'options.maxdepth'],
    ])('throws InvalidOptionError for %j', (options, path) => {
      expect(() => validateSandboxPath('a', options as never)).toThrow(InvalidOptionError);
      expect(() => validateSandboxPath('a', options as never)).toThrow(expect.objectContaining({ path }));
    });
  });

  describe('when String.prototype.normalize is patched after load (CVE-2024-21891 style)', () => {
    it('still refuses NFKC look-alikes', () => {
      const original = String.prototype.normalize;
      String.prototype.normalize = function patched(this: string) {
        return String(this);
      };
      try {
        expect(validateSandboxPath('\uff0e\uff0e/etc')).toEqual({ ok: false, reason: 'PATH_NOT_NFKC' });
      } finally {
        String.prototype.normalize = original;
      }
    });
  });
});

const payloads = loadTraversalPayloads();

describe.skipIf(payloads === undefined)('when the public traversal payload list is fed in, decoded once', () => {
  const lines = payloads ?? [];

  it('has the documented size', () => {
    expect(lines.length).toBeGreaterThan(1900);
  });

  it('rejects every line or keeps it a plain relative path inside the root', () => {
    const accepted: string[] = [];
    for (const line of lines) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(line);
      } catch {
        continue; // a router answers 400 (or keeps the raw text, which the `%` rule refuses: checked below)
      }
      const result = validateSandboxPath(decoded);
      if (!result.ok) continue;
      accepted.push(decoded);
      // Inside the root: joining cannot climb, and the path is already canonical.
      expect(posix.normalize(decoded)).toBe(decoded);
      expect(posix.join('/ROOT', decoded).startsWith('/ROOT/')).toBe(true);
      expect(result.segments).not.toContain('..');
    }
    // Every raw line (what koajs/router keeps on a malformed escape) is refused or equally harmless.
    for (const line of lines) {
      const result = validateSandboxPath(line);
      if (result.ok) expect(posix.join('/ROOT', line).startsWith('/ROOT/')).toBe(true);
    }
    // Only a few dozen plain names of the public payload list pass the lexical layer.
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.length).toBeLessThan(60);
  });
});
