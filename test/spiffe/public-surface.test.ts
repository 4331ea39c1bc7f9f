import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** `koa-mtls/spiffe` exports exactly these names: a new or renamed export must be added here on purpose. */
const RUNTIME = ['createWorkloadApiClient', 'spiffeMtls'];
const TYPES = [
  'SpiffeMtls',
  'SpiffeMtlsOptions',
  'SpiffeMtlsStatus',
  'SpiffeTlsSettings',
  'TrustDomainsTarget',
  'WorkloadApiClient',
  'WorkloadApiClientOptions',
  'WorkloadApiWatcher',
  'X509BundlesMessage',
  'X509SvidMessage',
];

const sorted = (names: readonly string[]) => [...names].sort();

describe('the koa-mtls/spiffe surface', () => {
  it('exports exactly the documented values, and no default export', async () => {
    const module = await import('../../src/spiffe/index.js');
    expect(sorted(Object.keys(module))).toEqual(sorted(RUNTIME));
    expect('default' in module).toBe(false);
  });

  it('declares exactly the documented values and types', () => {
    const file = fileURLToPath(new URL('../../src/spiffe/index.ts', import.meta.url));
    const program = ts.createProgram([file], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      resolveJsonModule: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    });
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(file);
    const symbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    expect(symbol).toBeDefined();
    const names = checker.getExportsOfModule(symbol as ts.Symbol).map((entry) => entry.name);
    expect(sorted(names)).toEqual(sorted([...RUNTIME, ...TYPES]));
    // A full TypeScript program over the sources: slow on a loaded machine
  }, 60_000);

  it('the main entry point imports nothing of it (gRPC stays out of apps that do not use SPIFFE)', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const src = fileURLToPath(new URL('../../src/', import.meta.url));
    const outside = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((path) => path.endsWith('.ts') && !path.startsWith('spiffe'))
      .filter((path) => /from '(@grpc|[./]+spiffe\/)/.test(readFileSync(`${src}${path}`, 'utf8')));
    expect(outside).toEqual([]);
  });
});
