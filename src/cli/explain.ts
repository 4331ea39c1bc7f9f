/**
 * `koa-mtls explain --cert peer.pem --policy policy.json`: offline diagnosis of a 401/403. Builds the identity a
 * server would see for the certificate, evaluates the policy with `explain()`, and prints both with the rule that
 * matched or failed.
 *
 * Exit codes: 0 the policy allows the peer, 1 it denies, 2 usage error (unreadable file, invalid policy).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { explain } from '../authz/explain.js';
import type { PeerPolicy } from '../authz/policy.js';
import { InvalidOptionError } from '../errors.js';
import { peerFromPem } from '../identity/peer-from-pem.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import { type CommandIo, exitCodes, parseCommandArgs, UsageError } from './command-io.js';

const USAGE = `Usage: koa-mtls explain --cert <peer.pem> --policy <policy.json> [options]

Prints the identity peerCertificate() would build from the certificate (the first one in
the file; the rest are taken as its issuers) and whether requirePeer(policy) would allow
it, with every rule evaluated. Nothing is verified: the chain and the CA are not checked.

  --cert <file>      the client certificate (PEM), e.g. pki/client.pem
  --policy <file>    the policy as JSON, e.g. {"trustDomain": "example.org"}
  --now <ISO date>   check the validity period at this time (default: now)
  --json             print { identity, explanation } as JSON
  -h, --help         this help

Exit codes: 0 allowed, 1 denied, 2 usage error.
`;

async function readText(cwd: string, flag: string, file: string | undefined): Promise<string> {
  if (file === undefined) throw new UsageError(`${flag} <file> is required (see koa-mtls explain --help)`);
  try {
    return await readFile(resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new UsageError(`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

function describePeer(peer: PeerIdentity): string {
  const san = Object.entries(peer.san)
    .filter(([, values]) => Array.isArray(values) && values.length > 0)
    .map(
      ([type, values]) =>
        `${type}: ${(values as readonly unknown[]).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}`,
    );
  return [
    `subject      ${peer.subject.toString()}`,
    `issuer       ${peer.issuer.toString()}`,
    `spiffeId     ${peer.spiffeId ?? '-'}`,
    `san          ${san.length === 0 ? '-' : san.join('; ')}`,
    `valid        ${peer.notBefore.toISOString()} .. ${peer.notAfter.toISOString()}`,
    `sha256       ${peer.fingerprint256}`,
    `spki sha256  ${peer.spkiFingerprint256}`,
    `extKeyUsage  ${peer.extKeyUsage.join(', ') || '-'}`,
  ].join('\n');
}

/**
 * Runs `koa-mtls explain` with the arguments after the command name, and returns the exit code.
 */
export async function runExplain(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs({
    args: [...argv],
    allowPositionals: false,
    options: {
      cert: { type: 'string' },
      policy: { type: 'string' },
      now: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.stdout(USAGE);
    return exitCodes.ok;
  }
  const now = values.now === undefined ? new Date() : new Date(values.now);
  if (!Number.isFinite(now.getTime())) throw new UsageError(`--now "${values.now}" is not a date (use ISO 8601)`);
  const pem = await readText(io.cwd, '--cert', values.cert);
  const policyText = await readText(io.cwd, '--policy', values.policy);
  let policy: PeerPolicy;
  try {
    policy = JSON.parse(policyText) as PeerPolicy;
  } catch (error) {
    throw new UsageError(`--policy ${values.policy}: not JSON (${error instanceof Error ? error.message : ''})`);
  }
  let peer: PeerIdentity;
  let explanation: Awaited<ReturnType<typeof explain>>;
  try {
    peer = peerFromPem(pem);
    explanation = await explain(policy, peer, { now });
  } catch (error) {
    if (error instanceof InvalidOptionError) {
      const file = error.path.startsWith('pem') ? `--cert ${values.cert}` : `--policy ${values.policy}`;
      throw new UsageError(`${file}: ${error.message}`);
    }
    throw error;
  }
  if (values.json === true) {
    io.stdout(`${JSON.stringify({ identity: peer, explanation }, null, 2)}\n`);
  } else {
    const steps = explanation.steps.map(
      (step) => `  ${step.matched ? 'match' : 'no   '}  ${step.rule}  ${step.detail}`,
    );
    io.stdout(
      `${describePeer(peer)}\n\npolicy       ${explanation.policy}\n` +
        `decision     ${explanation.allowed ? 'ALLOW' : 'DENY'} (${explanation.reason}${explanation.rule === undefined ? '' : `, rule ${explanation.rule}`})\n` +
        `steps\n${steps.join('\n')}\n`,
    );
  }
  return explanation.allowed ? exitCodes.ok : exitCodes.findings;
}
