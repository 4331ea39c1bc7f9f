/**
 * Run counts for the fuzz suite: small by default (the whole suite stays well under 20 s on a shared CI core), scaled
 * with `FUZZ_RUNS=<n>` (e.g. `FUZZ_RUNS=20000 npx vitest run test/fuzz`). Cheap properties run `n` times; properties
 * that issue a certificate per run (2–5 ms each) run `n / 40` times, so one setting scales everything evenly.
 */

import { InvalidOptionError, KoaMtlsError } from '../../src/errors.js';
import { MalformedHeaderError } from '../../src/identity/proxy/certificate-encodings.js';
import { TooManySubjectAltNamesError } from '../../src/identity/subject-alt-names.js';
import { DerError } from '../../src/x509/der.js';

const scaled = Number(process.env.FUZZ_RUNS);
const override = Number.isInteger(scaled) && scaled > 0 ? scaled : undefined;

/** Runs for a cheap property: `defaultRuns`, or `FUZZ_RUNS` when set. */
export function cheapRuns(defaultRuns: number): number {
  return override ?? defaultRuns;
}

/** Runs for a property that makes a certificate per run: `defaultRuns`, or `FUZZ_RUNS / 40` when set. */
export function costlyRuns(defaultRuns: number): number {
  return override === undefined ? defaultRuns : Math.max(defaultRuns, Math.floor(override / 40));
}

/** Timeout for a property test, growing with the runs asked for (vitest's default 20 s suits the default runs). */
export function fuzzTimeout(): number {
  return override === undefined ? 20_000 : 20_000 + override * 10;
}

/** The errors the package throws on purpose: its two public classes. */
export function isPublicError(error: unknown): boolean {
  return error instanceof KoaMtlsError || error instanceof InvalidOptionError;
}

/**
 * The documented internal parse errors: thrown by the DER, header and SAN parsers and always caught (turned into a
 * denial with an audit reason) before they reach a request.
 */
export function isInternalParseError(error: unknown): boolean {
  return (
    error instanceof DerError || error instanceof MalformedHeaderError || error instanceof TooManySubjectAltNamesError
  );
}
