import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateSandboxPath } from '../../src/sandbox/lexical.js';

/** Tokens whose verdict is known on its own: a path of tokens is accepted iff every token is safe (the model). */
const SAFE = ['a', 'b', 'do..ts.txt', 'x-1_2~', 'ETC', 'passwd', 'café', '0x2e0x2e', 'a.b', '∕etc'];
const UNSAFE = [
  '.',
  '..',
  '',
  '%2e',
  '%2f',
  '%25',
  '\\',
  'a:b',
  '．',
  '\u0000',
  '\u202e',
  '\u200b',
  '.env',
  'CON',
  'nul.txt',
  'a.',
  'a ',
  '\ufffd',
  'e\u0301',
  '／',
];

const token = fc.oneof(
  fc.constantFrom(...SAFE).map((t) => ({ t, safe: true })),
  fc.constantFrom(...UNSAFE).map((t) => ({ t, safe: false })),
);

describe('validateSandboxPath (properties)', () => {
  it('agrees with the token model on every path built from known tokens', () => {
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 40 }), (tokens) => {
        const input = tokens.map(({ t }) => t).join('/');
        const modelAccepts = tokens.length <= 32 && tokens.every(({ safe }) => safe);
        expect(validateSandboxPath(input).ok).toBe(modelAccepts);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws, and an accepted path is canonical, relative and cannot climb out of a root', () => {
    const anyString = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc
        .array(fc.constantFrom('a', '.', '..', '/', '%', '\\', ':', '．', 'b.txt', ' ', '\u0000'), { maxLength: 20 })
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(anyString, (input) => {
        const result = validateSandboxPath(input);
        if (!result.ok) return;
        expect(result.path).toBe(input);
        expect(result.segments.join('/')).toBe(input);
        expect(posix.normalize(input)).toBe(input);
        expect(posix.isAbsolute(input)).toBe(false);
        expect(result.segments).not.toContain('..');
        expect(posix.join('/root', input).startsWith('/root/')).toBe(true);
        expect(input.normalize('NFKC')).toBe(input);
        expect(input).not.toMatch(/[%\\:]/);
        expect([...input].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c === '\u007f')).toBe(false);
        expect(Buffer.from(input, 'utf8').toString('utf8')).toBe(input);
        // Idempotent: the accepted path is accepted again, unchanged.
        expect(validateSandboxPath(result.path)).toEqual(result);
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects every path once any segment is . or .., wherever it sits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...SAFE), { maxLength: 10 }),
        fc.array(fc.constantFrom(...SAFE), { maxLength: 10 }),
        fc.constantFrom('.', '..'),
        (before, after, dots) => {
          const input = [...before, dots, ...after].join('/');
          expect(validateSandboxPath(input)).toEqual({ ok: false, reason: 'PATH_DOT_SEGMENT' });
        },
      ),
    );
  });
});
