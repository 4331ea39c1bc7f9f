import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../src/posture/catalog.js';
import type { PostureCheckId } from '../../src/posture/index.js';

const docs = readFileSync(new URL('../../docs/posture.md', import.meta.url), 'utf8');
const hardening = docs.slice(docs.indexOf('### Hardening'), docs.indexOf('### `koa-mtls doctor`'));

describe('docs/posture.md', () => {
  it.each(Object.entries(CATALOG) as [PostureCheckId, (typeof CATALOG)[PostureCheckId]][])(
    'maps %s to the same Docker and Kubernetes fix as the report',
    (id, description) => {
      const row = hardening.split('\n').find((line) => line.startsWith(`| \`${id}\``));
      expect(row).toBeDefined();
      expect(row).toContain(`\`${description.fix.docker}\``);
      expect(row).toContain(`\`${description.fix.kubernetes}\``);
    },
  );
});
