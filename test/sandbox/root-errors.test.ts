import { describe, expect, it } from 'vitest';
import { InvalidOptionError, KoaMtlsError } from '../../src/errors.js';
import { createSandbox } from '../../src/sandbox/index.js';

describe('createSandbox names the root and the fix when it cannot use it', () => {
  it('a relative root: the value given and path.resolve', async () => {
    const error = await createSandbox('reports').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toContain('must be an absolute path (got "reports")');
    expect((error as Error).message).toContain("createSandbox(path.resolve('reports'))");
  });

  it('a missing root: the path, the errno and what to do', async () => {
    const error = await createSandbox('/nonexistent/koa-mtls/reports').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KoaMtlsError);
    expect((error as KoaMtlsError).code).toBe('ERR_SANDBOX_CONFIG');
    expect((error as Error).message).toContain('sandbox root "/nonexistent/koa-mtls/reports" does not exist');
    expect((error as Error).message).toContain('(ENOENT); create the directory or pass an existing one');
  });
});
