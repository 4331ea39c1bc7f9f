#!/usr/bin/env node
/**
 * Regenerates `openssl-verdicts.json`: the verdict of `openssl verify` for every x509-limbo case, with the case's
 * validation time, purpose (sslserver for SERVER cases, sslclient for CLIENT cases), depth and CRLs. Run it when
 * limbo.json or the OpenSSL version changes:
 *
 *   node test/trust/limbo/openssl-verdicts.mjs /work/shared/data/x509-limbo/limbo.json
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [limboPath] = process.argv.slice(2);
if (limboPath === undefined) throw new Error('usage: openssl-verdicts.mjs <limbo.json>');
const { testcases } = JSON.parse(readFileSync(limboPath, 'utf8'));
const directory = mkdtempSync(join(tmpdir(), 'limbo-openssl-'));
const verdicts = {};
const clientVerdicts = {};
try {
  for (const testcase of testcases) {
    verdicts[testcase.id] = verify(testcase, testcase.validation_kind === 'CLIENT' ? 'sslclient' : 'sslserver');
    // The forwarded-certificate path always validates for client authentication.
    clientVerdicts[testcase.id] = verify(testcase, 'sslclient');
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}

/** `openssl verify` of one case for `purpose`: accepted, or the first error OpenSSL names. */
function verify(testcase, purpose) {
  {
    const file = (name, pems) => {
      const path = join(directory, name);
      writeFileSync(path, pems.join('\n'));
      return path;
    };
    const args = ['verify'];
    // A case without a validation time is validated "now", as OpenSSL does by default.
    if (testcase.validation_time !== null)
      args.push('-attime', String(Math.floor(Date.parse(testcase.validation_time) / 1000)));
    args.push('-purpose', purpose);
    args.push('-CAfile', file('roots.pem', testcase.trusted_certs));
    if (testcase.untrusted_intermediates.length > 0) {
      args.push('-untrusted', file('intermediates.pem', testcase.untrusted_intermediates));
    }
    if (testcase.crls.length > 0) args.push('-crl_check_all', '-CRLfile', file('crls.pem', testcase.crls));
    if (testcase.max_chain_depth !== null) args.push('-verify_depth', String(testcase.max_chain_depth));
    args.push(file('leaf.pem', [testcase.peer_certificate]));
    let output;
    let accepted;
    try {
      output = execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      accepted = true;
    } catch (error) {
      output = `${error.stdout ?? ''}${error.stderr ?? ''}`;
      accepted = false;
    }
    if (output.includes('Use -help'))
      throw new Error(`openssl refused the arguments of ${testcase.id}: ${args.join(' ')}`);
    const reason = /error \d+ at \d+ depth lookup: ([^\n]+)/.exec(output)?.[1];
    return accepted ? { accepted } : { accepted, reason: reason ?? output.trim().split('\n').at(-1) };
  }
}
const version = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
process.stdout.write(`${JSON.stringify({ openssl: version, verdicts, clientVerdicts }, null, 1)}\n`);
