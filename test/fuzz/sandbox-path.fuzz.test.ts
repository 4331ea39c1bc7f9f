import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { createSandbox, type Sandbox, SandboxPathError, validateSandboxPath } from '../../src/sandbox/index.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { cheapRuns, fuzzTimeout } from './fuzz-runs.js';

/**
 * End to end over arbitrary strings: whatever validateSandboxPath accepts is canonical and relative, and a real
 * sandbox over a tree full of escaping symlinks either opens a file whose kernel path is under the root or refuses
 * with a SandboxPathError; the canary outside the root (and in a sibling `root2`) is never read.
 */
const CANARY = 'CANARY-outside-the-root';

// The names of the tree: lexically valid, so paths of them reach the filesystem walk.
const TREE_NAMES = [
  'a.txt',
  'dir',
  'sub',
  'b.txt',
  'c.txt',
  'out',
  'updir',
  'abs',
  'inlink',
  'uplink',
  'loop',
  'root2',
];

// Names that exist in the tree, names that lead out of it, and the classic lexical attacks.
const TOKENS = [
  ...TREE_NAMES,
  'secret.txt',
  'canary.txt',
  '..',
  '.',
  '',
  '%2e%2e',
  '%2f',
  '\\',
  'C:',
  '．．',
  '／',
  '\u0000',
  '\u202e',
  'e\u0301',
  'CON',
  'a.txt.',
  ' ',
  '.env',
  '~',
] as const;
const SEPARATORS = ['/', '/', '/', '//', '\\', '%2f', ''] as const;

const tokenPath = fc
  .array(fc.tuple(fc.constantFrom(...TOKENS), fc.constantFrom(...SEPARATORS)), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.map(([token, separator]) => token + separator).join(''))
  .map((text) => (text.endsWith('/') ? text.slice(0, -1) : text));

// Only names of the tree.
const treePath = fc
  .array(fc.constantFrom(...TREE_NAMES), { minLength: 1, maxLength: 4 })
  .map((names) => names.join('/'));

const input = fc.oneof(
  { arbitrary: treePath, weight: 4 },
  { arbitrary: tokenPath, weight: 6 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 1 },
  { arbitrary: fc.string({ unit: fc.constantFrom('a', '.', '/', 'b', '\\', '%'), maxLength: 24 }), weight: 2 },
);

let base: string;
let removeBase: () => void;
let sandbox: Sandbox;

beforeAll(async () => {
  ({ path: base, dispose: removeBase } = temporaryDirectory('fuzz-sandbox'));
  const root = join(base, 'root');
  mkdirSync(join(root, 'dir', 'sub'), { recursive: true });
  mkdirSync(join(base, 'root2'));
  writeFileSync(join(base, 'canary.txt'), CANARY);
  writeFileSync(join(base, 'root2', 'secret.txt'), CANARY);
  writeFileSync(join(root, 'a.txt'), 'a');
  writeFileSync(join(root, 'dir', 'b.txt'), 'b');
  writeFileSync(join(root, 'dir', 'sub', 'c.txt'), 'c');
  symlinkSync('../canary.txt', join(root, 'out'));
  symlinkSync('..', join(root, 'updir'));
  symlinkSync(join(base, 'canary.txt'), join(root, 'abs'));
  symlinkSync('dir/b.txt', join(root, 'inlink'));
  symlinkSync('../../canary.txt', join(root, 'dir', 'uplink'));
  symlinkSync('../root2', join(root, 'dir', 'root2'));
  symlinkSync('loop', join(root, 'loop'));
  sandbox = await createSandbox(root);
});

afterAll(async () => {
  await sandbox.close();
  removeBase();
});

describe('when arbitrary request paths reach a real sandbox', () => {
  it(
    'accepts only canonical relative paths, and never opens anything outside the root',
    async () => {
      const seen = { accepted: 0, opened: 0, refusedByFilesystem: 0 };
      await fc.assert(
        fc.asyncProperty(input, async (path) => {
          const lexical = validateSandboxPath(path);
          // The sandbox applies the very same lexical rules.
          expect(sandbox.validate(path)).toEqual(lexical);
          if (lexical.ok) {
            seen.accepted += 1;
            expect(isAbsolute(lexical.path)).toBe(false);
            // Differential against node:path: nothing for a later normalize() to collapse.
            expect(posix.normalize(lexical.path)).toBe(lexical.path);
            expect(posix.join(sandbox.root, lexical.path).startsWith(`${sandbox.root}/`)).toBe(true);
          }
          let handle: Awaited<ReturnType<Sandbox['open']>> | undefined;
          try {
            handle = await sandbox.open(path);
          } catch (error) {
            expect(error).toBeInstanceOf(SandboxPathError);
            const refusal = error as SandboxPathError;
            expect(refusal.status).toBe(lexical.ok ? 404 : 400);
            if (!lexical.ok) expect(refusal.reason).toBe(lexical.reason);
            else seen.refusedByFilesystem += 1;
            // Generic message: never the input or a filesystem path.
            expect(refusal.message).not.toContain(base);
            return;
          }
          try {
            seen.opened += 1;
            expect(lexical.ok).toBe(true);
            const kernelPath = await readlink(`/proc/self/fd/${handle.fd}`);
            expect(kernelPath.startsWith(`${sandbox.root}/`)).toBe(true);
            expect(await handle.readFile('utf8')).not.toBe(CANARY);
          } finally {
            await handle.close();
          }
        }),
        { numRuns: cheapRuns(400) },
      );
      // The property is not vacuous: it saw openings and filesystem refusals.
      expect(seen.opened).toBeGreaterThan(0);
      expect(seen.refusedByFilesystem).toBeGreaterThan(0);
    },
    fuzzTimeout(),
  );
});

describe('when validateSandboxPath gets arbitrary options', () => {
  const optionValue = fc.oneof(
    fc.anything(),
    fc.integer({ min: -10, max: 5000 }),
    fc.constantFrom('unicode', 'strict', 'UNICODE', ''),
    fc.boolean(),
  );
  const options = fc.oneof(
    fc.anything(),
    fc.dictionary(
      fc.constantFrom('maxLength', 'maxDepth', 'maxSegmentBytes', 'allowDotfiles', 'charset', 'charSet', '__proto__'),
      optionValue,
      { maxKeys: 4 },
    ),
  );

  it('either validates or throws InvalidOptionError naming an option path', () => {
    fc.assert(
      fc.property(options, fc.string({ maxLength: 12 }), (candidate, path) => {
        try {
          const result = validateSandboxPath(path, candidate as never);
          expect(typeof result.ok).toBe('boolean');
        } catch (error) {
          if (candidate === undefined) throw error;
          expect(error).toBeInstanceOf(InvalidOptionError);
          expect((error as InvalidOptionError).path).toMatch(/^options(\.|$)/);
        }
      }),
      { numRuns: cheapRuns(1000) },
    );
  });
});
