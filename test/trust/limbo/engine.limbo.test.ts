/**
 * Every x509-limbo case through the trust engine: no case that OpenSSL rejects may be accepted. Where the engine is
 * stricter than OpenSSL (or than limbo), the case is listed in docs/trust-limbo.md with its reason; this test keeps
 * that table honest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineVerdict, loadLimbo, opensslVerdicts } from './limbo-cases.js';

describe('x509-limbo through the trust engine', () => {
  const cases = loadLimbo();
  const openssl = opensslVerdicts();

  it('has all 208 cases and an OpenSSL verdict for each', () => {
    expect(cases).toHaveLength(208);
    for (const testcase of cases) expect(openssl[testcase.id], testcase.id).toBeDefined();
  });

  it('accepts no case that OpenSSL rejects, except a valid path OpenSSL 3.0 does not find', () => {
    const acceptedAgainstOpenssl = cases
      .filter((testcase) => openssl[testcase.id]?.accepted === false && engineVerdict(testcase).accepted)
      .map((testcase) => `${testcase.id} (limbo: ${testcase.expected_result})`);
    // OpenSSL builds EE → ICA_B' → ICA_A (whose name constraints exclude ICA_B') and does not backtrack to the
    // valid EE → ICA_B'' → RCA_B; limbo expects SUCCESS. Not a weaker check: the accepted path has no constraint.
    expect(acceptedAgainstOpenssl).toEqual(['rfc5280::nc::nc-forbids-same-chain-ica (limbo: SUCCESS)']);
  });

  it('lists every disagreement with OpenSSL or limbo in docs/trust-limbo.md', () => {
    const documented = readFileSync(join(import.meta.dirname, '../../../docs/trust-limbo.md'), 'utf8');
    const missing = cases
      .filter((testcase) => {
        const accepted = engineVerdict(testcase).accepted;
        return accepted !== openssl[testcase.id]?.accepted || accepted !== (testcase.expected_result === 'SUCCESS');
      })
      .map((testcase) => testcase.id)
      .filter((id) => !documented.includes(`| \`${id}\` |`));
    expect(missing).toEqual([]);
  });
});
