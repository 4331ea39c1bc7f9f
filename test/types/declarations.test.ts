/**
 * Type tests of every public export, against the built declarations as an ES module consumer (`dist/index.d.ts`)
 * and a CommonJS one (`dist/index.d.cts`) resolve them: the same assertions, compiled by `tsc` once as `.mts` and
 * once as `.cts`, importing the package by its name (self-reference through `exports`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repository, requireBuild } from '../helpers/built-package.js';
import { runProgram } from '../helpers/processes.js';

const header = `import * as m from 'koa-mtls';
import { Router } from '@koa/router';
import type { RouterContext } from '@koa/router';
import type { Context, DefaultState, Middleware, ParameterizedContext } from 'koa';
declare const expectTypeOf: typeof import('vitest', { with: { 'resolution-mode': 'import' } }).expectTypeOf;
`;
const body = readFileSync(join(repository, 'test/types/declarations/api.body.ts'), 'utf8');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
let dir = '';

beforeAll(() => {
  requireBuild();
  // Inside the repository, so that `koa-mtls` resolves to this package's own exports.
  dir = mkdtempSync(join(repository, 'test/types/declarations/tmp-'));
  writeFileSync(join(dir, 'esm.mts'), header + body);
  writeFileSync(join(dir, 'cjs.cts'), header + body);
  writeFileSync(join(dir, 'broken.mts'), `${header}expectTypeOf(m.mtlsOptions).returns.toEqualTypeOf<string>();\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(files: readonly string[]) {
  const options = ['--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--types', 'node'];
  return runProgram(process.execPath, [tsc, ...options, '--exactOptionalPropertyTypes', '--skipLibCheck', ...files], {
    cwd: dir,
    timeoutMs: 120_000,
  });
}

describe('public declarations', () => {
  it('hold every assertion for an ES module consumer and a CommonJS consumer', async () => {
    const run = await check(['esm.mts', 'cjs.cts']);
    expect(run.stdout).toBe('');
    expect(run.code).toBe(0);
  }, 120_000);

  it.each(['dist/index.d.ts', 'dist/index.d.cts'])('document every SanRule field in %s', (file) => {
    const source = ts.createSourceFile(
      file,
      readFileSync(join(repository, file), 'utf8'),
      ts.ScriptTarget.Latest,
      true,
    );
    const sanRule = source.statements.find(
      (statement): statement is ts.InterfaceDeclaration =>
        ts.isInterfaceDeclaration(statement) && statement.name.text === 'SanRule',
    );
    const fields = sanRule?.members.map((member) => ({
      name: member.name?.getText(source),
      documented: ts.getJSDocCommentsAndTags(member).length > 0,
    }));
    expect(fields?.map((field) => field.name)).toEqual(['dns', 'uri', 'email', 'ip', 'upn']);
    expect(fields?.filter((field) => !field.documented)).toEqual([]);
  });

  it('fail on a wrong assertion (the check can fail)', async () => {
    const run = await check(['broken.mts']);
    expect(run.stdout).toContain('broken.mts');
    expect(run.code).not.toBe(0);
  }, 120_000);
});
