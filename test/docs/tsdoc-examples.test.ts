import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

/**
 * The rule for TSDoc examples: every public export (a name reachable from a package entry point, types included) has
 * an `@example`, and nothing else in `src/` has one. Members of a public interface, class or type may carry their
 * own example; a local or internal declaration may not. Entry points come from `package.json` `exports` mapped
 * through the `entry` objects of `tsup.config.ts`, so a new subpath is checked without touching this file.
 */

const repository = fileURLToPath(new URL('../..', import.meta.url));

interface Finding {
  /** `file:line: name`, file relative to the checked directory. */
  readonly where: string;
}

interface ExampleReport {
  readonly entryPoints: readonly string[];
  readonly publicExports: number;
  readonly examples: number;
  /** Public exports none of whose declarations has an `@example`. */
  readonly missing: readonly Finding[];
  /** `@example` blocks on anything that is neither a public export nor a member of one. */
  readonly misplaced: readonly Finding[];
}

/** The source entry files behind `package.json` `exports`, as `tsup.config.ts` maps output names to sources. */
function entryPointsOf(root: string): string[] {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports?: unknown };
  const outputs = new Set<string>();
  const collect = (value: unknown): void => {
    if (typeof value === 'string') {
      const match = /^\.\/dist\/(.+)\.(?:c|m)?js$/.exec(value);
      if (match?.[1] !== undefined) outputs.add(match[1]);
    } else if (typeof value === 'object' && value !== null) {
      for (const inner of Object.values(value)) collect(inner);
    }
  };
  collect(manifest.exports);
  const configFile = join(root, 'tsup.config.ts');
  const config = ts.createSourceFile(configFile, readFileSync(configFile, 'utf8'), ts.ScriptTarget.Latest, true);
  const sources = new Map<string, string>();
  const visit = (node: ts.Node): void => {
    if (
      ts.isPropertyAssignment(node) &&
      node.name.getText(config) === 'entry' &&
      ts.isObjectLiteralExpression(node.initializer)
    ) {
      for (const property of node.initializer.properties) {
        if (ts.isPropertyAssignment(property) && ts.isStringLiteral(property.initializer)) {
          sources.set(property.name.getText(config).replace(/^['"]|['"]$/g, ''), property.initializer.text);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(config);
  return [...outputs].map((output) => {
    const source = sources.get(output);
    if (source === undefined) throw new Error(`package.json exports ./dist/${output} but tsup.config.ts has no entry`);
    return join(root, source);
  });
}

/** Every `.ts` file under `dir`. */
function sourceFiles(dir: string): string[] {
  return ts.sys.readDirectory(dir, ['.ts']).filter((file) => !file.endsWith('.d.ts'));
}

/** The node a declaration's TSDoc is attached to: the statement for `export const x = …`. */
function docHost(declaration: ts.Node): ts.Node {
  if (ts.isVariableDeclaration(declaration) && ts.isVariableStatement(declaration.parent.parent)) {
    return declaration.parent.parent;
  }
  return declaration;
}

/** The TSDoc blocks the parser attached to `node` (the compiler keeps them on the node; there is no public getter). */
function docsOf(node: ts.Node): readonly ts.JSDoc[] {
  return (node as { jsDoc?: ts.JSDoc[] }).jsDoc ?? [];
}

/** Start offsets of the `/**` comments in a file, from the trivia around every token (never inside a string). */
function blockComments(file: ts.SourceFile): Set<number> {
  const starts = new Set<number>();
  const add = (ranges: ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) if (file.text.startsWith('/**', range.pos)) starts.add(range.pos);
  };
  const visit = (node: ts.Node): void => {
    add(ts.getLeadingCommentRanges(file.text, node.pos));
    add(ts.getTrailingCommentRanges(file.text, node.end));
    for (const child of node.getChildren(file)) visit(child);
  };
  visit(file);
  return starts;
}

function exampleCount(doc: ts.JSDoc): number {
  return (doc.tags ?? []).filter((tag) => tag.tagName.text === 'example').length;
}

function nameOf(node: ts.Node): string {
  if (node.kind === ts.SyntaxKind.EndOfFileToken) return '(comment at the end of the file)';
  const named = ts.isVariableStatement(node) ? node.declarationList.declarations[0] : node;
  const name = named !== undefined ? ts.getNameOfDeclaration(named as ts.Declaration) : undefined;
  return name?.getText() ?? ts.SyntaxKind[node.kind];
}

/** Checks the TSDoc example rule on the package at `root`. */
function checkExamples(root: string): ExampleReport {
  const entryPoints = entryPointsOf(root);
  const files = sourceFiles(join(root, 'src'));
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const where = (node: ts.Node): string => {
    const file = node.getSourceFile();
    const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
    return `${relative(root, file.fileName)}:${line}: ${nameOf(node)}`;
  };
  const inSource = (node: ts.Node) => !relative(join(root, 'src'), node.getSourceFile().fileName).startsWith('..');

  const publicHosts = new Set<ts.Node>();
  const missing: Finding[] = [];
  const seen = new Set<ts.Symbol>();
  for (const entry of entryPoints) {
    const file = program.getSourceFile(entry);
    const module = file === undefined ? undefined : checker.getSymbolAtLocation(file);
    if (module === undefined) throw new Error(`${entry}: not a module`);
    for (const exported of checker.getExportsOfModule(module)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (seen.has(target)) continue;
      seen.add(target);
      const hosts = (target.declarations ?? []).filter(inSource).map(docHost);
      for (const host of hosts) publicHosts.add(host);
      const first = hosts[0];
      if (first !== undefined && !hosts.some((host) => docsOf(host).some((doc) => exampleCount(doc) > 0))) {
        missing.push({ where: where(first) });
      }
    }
  }

  // A member of a public declaration may carry an example; a body (block) or the file level ends the climb.
  const isPublicOrMember = (host: ts.Node): boolean => {
    for (let node: ts.Node | undefined = host; node !== undefined; node = node.parent) {
      if (publicHosts.has(node)) return true;
      if (ts.isBlock(node) || ts.isModuleBlock(node) || ts.isSourceFile(node)) return false;
    }
    return false;
  };
  const misplaced: Finding[] = [];
  let examples = 0;
  for (const file of program.getSourceFiles()) {
    if (!inSource(file)) continue;
    const attached = new Set<number>();
    const visit = (node: ts.Node): void => {
      for (const doc of docsOf(node)) {
        attached.add(doc.getStart(file));
        const count = exampleCount(doc);
        examples += count;
        if (count > 0 && !isPublicOrMember(node)) misplaced.push({ where: where(node) });
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
    // A TSDoc block attached to nothing (e.g. after the last statement) still must not carry an example.
    for (const start of blockComments(file)) {
      const comment = file.text.slice(start, file.text.indexOf('*/', start));
      if (attached.has(start) || !/^[\s*]*@example\b/m.test(comment)) continue;
      examples += 1;
      const line = file.getLineAndCharacterOfPosition(start).line + 1;
      misplaced.push({ where: `${relative(root, file.fileName)}:${line}: (unattached comment)` });
    }
  }
  return {
    entryPoints: entryPoints.map((entry) => relative(root, entry)),
    publicExports: seen.size,
    examples,
    missing,
    misplaced,
  };
}

const lines = (findings: readonly Finding[]) => findings.map((finding) => finding.where);

describe('TSDoc examples: on every public export, on nothing else', () => {
  const report = checkExamples(repository);

  it('reads the entry points from package.json exports and tsup.config.ts', () => {
    expect(report.entryPoints).toEqual(['src/index.ts', 'src/pki/index.ts', 'src/spiffe/index.ts']);
    expect(report.publicExports).toBeGreaterThan(100);
  });

  it('gives every public export (values and types) an @example', () => {
    expect(lines(report.missing), 'public exports without an @example (file:line: name)').toEqual([]);
  });

  it('has no @example on internal declarations', () => {
    expect(lines(report.misplaced), '@example on a declaration that is not public (file:line: name)').toEqual([]);
  });
});

describe('the TSDoc example check itself', () => {
  const { path: fixture, dispose: removeFixture } = temporaryDirectory('tsdoc');
  afterAll(() => removeFixture());
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  };
  write('package.json', JSON.stringify({ type: 'module', exports: { '.': { import: './dist/index.js' } } }));
  write('tsup.config.ts', "export default { entry: { index: 'src/index.ts', cli: 'src/cli.ts' } };\n");
  write(
    'src/index.ts',
    [
      "export { documented, type Shape } from './inner.js';",
      "export * from './star.js';",
      '/**\n * Lacks one.\n */',
      'export const bare = 1;',
    ].join('\n'),
  );
  const example = (name: string) => `/**\n * ${name}.\n *\n * @example\n * \`\`\`ts\n * ${name};\n * \`\`\`\n */\n`;
  write(
    'src/inner.ts',
    [
      `${example('documented')}export function documented(): number {`,
      `  ${example('local')}  const local = 1;`,
      '  return local;',
      '}',
      `${example('Shape')}export interface Shape {`,
      `  ${example('member')}  readonly member: number;`,
      '}',
      `${example('internal')}export function internal(): void {}`,
      `const list = [\n${example('inList')}1];`,
      example('orphan'),
    ].join('\n'),
  );
  write('src/star.ts', 'export type Starred = string;\n');
  write('src/cli.ts', `${example('cli')}export function main(): void {}\n`);
  const fixtureReport = checkExamples(fixture);

  it('finds public exports without an example, through re-exports and export *', () => {
    expect(lines(fixtureReport.missing)).toEqual(['src/index.ts:6: bare', 'src/star.ts:1: Starred']);
  });

  it('finds examples on internal, local and unattached declarations, and allows them on public members', () => {
    expect(lines(fixtureReport.misplaced)).toEqual([
      'src/cli.ts:9: main',
      'src/inner.ts:18: local',
      'src/inner.ts:48: internal',
      'src/inner.ts:67: (comment at the end of the file)',
      'src/inner.ts:50: (unattached comment)',
    ]);
    expect(fixtureReport.examples).toBe(8);
  });
});
