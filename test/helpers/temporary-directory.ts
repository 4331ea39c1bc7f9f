/** Temporary directories under the OS temp dir (`koa-mtls-<prefix>-…`) and the files tests write into them. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory removed by `dispose()`. */
export function temporaryDirectory(prefix: string): { readonly path: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), `koa-mtls-${prefix}-`));
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes `content` to `dir/name` with `mode` and returns the path. */
export function writeFile(dir: string, name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode });
  return path;
}
