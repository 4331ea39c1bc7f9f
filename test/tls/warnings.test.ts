/**
 * Process-level warnings: end-of-life Node.js and TLS key logging.
 */
import { describe, expect, it } from 'vitest';
import { keylogWarning, nodeEndOfLifeWarning } from '../../src/tls/warnings.js';

describe('nodeEndOfLifeWarning', () => {
  const at = new Date('2026-11-28T00:00:00Z');
  it.each([
    ['v20.20.2', 'MTLS_NODE_EOL'],
    ['v16.20.0', 'MTLS_NODE_EOL'],
    ['v25.1.0', 'MTLS_NODE_EOL'],
    ['v22.20.0', undefined],
    ['v24.5.0', undefined],
    ['v30.0.0', undefined],
  ])('%s → %s', (version, code) => {
    expect(nodeEndOfLifeWarning(version, at)?.code).toBe(code);
  });

  it('names the version and the end-of-life date', () => {
    expect(nodeEndOfLifeWarning('v20.20.2', at)?.message).toContain(
      'Node.js v20.20.2 is past its end of life (2026-04-30)',
    );
  });

  it('does not warn before the date', () => {
    expect(nodeEndOfLifeWarning('v20.20.2', new Date('2026-04-29T00:00:00Z'))).toBeUndefined();
  });
});

describe('keylogWarning', () => {
  it.each([
    [['--tls-keylog=/tmp/keys.log'], undefined, '--tls-keylog=/tmp/keys.log'],
    [[], '--max-old-space-size=512 --trace-tls', '--trace-tls'],
  ])('warns about %j / NODE_OPTIONS %j', (execArgv, nodeOptions, flag) => {
    const warning = keylogWarning(execArgv, nodeOptions);
    expect(warning?.code).toBe('MTLS_TLS_KEYLOG');
    expect(warning?.message).toContain(flag);
  });

  it('is silent without those flags', () => {
    expect(keylogWarning(['--enable-source-maps'], '--max-old-space-size=512')).toBeUndefined();
  });
});
