import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Examples import the package by its name, as users do; in this repository the name means the sources.
const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^koa-mtls\/pki$/, replacement: source('./src/pki/index.ts') },
      { find: /^koa-mtls\/spiffe$/, replacement: source('./src/spiffe/index.ts') },
      { find: /^koa-mtls$/, replacement: source('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/fast-check-seed.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
