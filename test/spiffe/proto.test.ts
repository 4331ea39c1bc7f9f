import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { workloadDescriptor } from '../../scripts/gen-workload-descriptor.mjs';

const root = resolve(import.meta.dirname, '../..');

describe('the vendored workload.proto', () => {
  it('and the descriptor the client loads describe the same API (run scripts/gen-workload-descriptor.mjs)', () => {
    const generated = JSON.parse(readFileSync(resolve(root, 'src/spiffe/proto/workload-descriptor.json'), 'utf8'));
    expect(generated).toEqual(workloadDescriptor());
  });

  it('is go-spiffe’s file with its licence header', () => {
    const proto = readFileSync(resolve(root, 'src/spiffe/proto/workload.proto'), 'utf8');
    expect(proto).toMatch(/Apache License, Version 2\.0/);
    expect(proto).toMatch(/rpc FetchX509SVID\(X509SVIDRequest\) returns \(stream X509SVIDResponse\);/);
    expect(proto).toMatch(/map<string, bytes> federated_bundles = 3;/);
  });
});
