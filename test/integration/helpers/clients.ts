/**
 * The real clients of the matrix, each making one GET to `https://localhost:<port>/` (SNI `localhost`, resolved to
 * 127.0.0.1) with or without a client certificate: `curl`, `openssl s_client`, Node's `https` and `undici`.
 * Every attempt is bounded (5 s) and reports the HTTP status, or 0 with the error when the connection failed.
 */
import { Agent, request as undiciRequest } from 'undici';
import { errorText, httpsRequest } from '../../helpers/https-client.js';
import { sClientGet } from '../../helpers/openssl.js';
import { runProgram } from '../../helpers/processes.js';
import type { ClientIdentity, MatrixPki } from './matrix-pki.js';

/** One client attempt's outcome. */
export interface ClientOutcome {
  /** HTTP status, 0 when no response came. */
  readonly status: number;
  readonly body: string;
  /** The HTTP version curl reports (`1.1`, `2`), when known. */
  readonly httpVersion?: string;
  /** The error code (Node clients) or exit status (command-line clients) of a failed attempt. */
  readonly error?: string;
}

/** What to send. */
export interface Attempt {
  readonly port: number;
  readonly pki: MatrixPki;
  /** The client certificate, or none. */
  readonly identity: ClientIdentity | undefined;
  /** Offer TLS 1.2 at most. */
  readonly tls12Only: boolean;
  /** curl only: negotiate HTTP/2 (ALPN `h2`). */
  readonly http2?: boolean;
}

/** A client of the matrix. */
export type MatrixClient = (attempt: Attempt) => Promise<ClientOutcome>;

const TIMEOUT_SECONDS = 5;

/** `curl`. A weak certificate is sent with OpenSSL at security level 0 (Debian's default level 2 refuses it). */
export const curlClient: MatrixClient = async ({ port, pki, identity, tls12Only, http2 = false }) => {
  const args = [
    '--silent',
    '--show-error',
    '--max-time',
    String(TIMEOUT_SECONDS),
    '--cacert',
    pki.caFile,
    '--resolve',
    `localhost:${port}:127.0.0.1`,
    ...(identity === undefined ? [] : ['--cert', identity.certFile, '--key', identity.keyFile]),
    ...(tls12Only ? ['--tls-max', '1.2'] : []),
    ...(http2 ? ['--http2'] : ['--http1.1']),
    '--write-out',
    '\n%{http_code} %{http_version}',
    `https://localhost:${port}/`,
  ];
  const env = identity?.weak === true ? { OPENSSL_CONF: pki.permissiveOpensslConf } : undefined;
  const { code, stdout } = await runProgram('curl', args, env === undefined ? {} : { env });
  if (code !== 0) return { status: 0, body: '', error: `curl exit ${code}` };
  const lines = stdout.split('\n');
  const [status = '0', httpVersion = ''] = (lines.pop() ?? '').split(' ');
  return { status: Number(status), body: lines.join('\n'), httpVersion };
};

/** `openssl s_client` sending an HTTP/1.0 request. A weak certificate is sent at security level 0. */
export const opensslClient: MatrixClient = async ({ port, pki, identity, tls12Only }) => {
  const { code, stdout } = await sClientGet(port, {
    caFile: pki.caFile,
    ...(identity === undefined ? {} : { certFile: identity.certFile, keyFile: identity.keyFile }),
    extra: [
      '-verify_return_error',
      '-quiet',
      ...(identity?.weak === true ? ['-cipher', 'DEFAULT@SECLEVEL=0'] : []),
      ...(tls12Only ? ['-tls1_2'] : []),
    ],
    timeoutMs: TIMEOUT_SECONDS * 1000,
  });
  const match = /^HTTP\/1\.[01] (\d{3})[^\n]*\n[\s\S]*?\r?\n\r?\n([\s\S]*)$/.exec(stdout);
  return match === null
    ? { status: 0, body: '', error: `openssl exit ${code}` }
    : { status: Number(match[1]), body: match[2] ?? '' };
};

/** The TLS options both Node clients use. */
function nodeTlsOptions({ pki, identity, tls12Only }: Attempt) {
  return {
    ca: pki.caPem,
    servername: 'localhost',
    ...(identity === undefined ? {} : { cert: identity.issued.chain, key: identity.issued.key }),
    ...(tls12Only ? { maxVersion: 'TLSv1.2' as const } : {}),
  };
}

/** Node's `https.request` ({@link httpsRequest}: no agent, no connection reuse). */
export const nodeHttpsClient: MatrixClient = async (attempt) => {
  const call = { port: attempt.port, ...nodeTlsOptions(attempt), timeoutMs: TIMEOUT_SECONDS * 1000 };
  const { status, body, error } = await httpsRequest(call);
  return error === undefined ? { status, body } : { status, body, error };
};

/** `undici` with a dedicated `Agent` carrying the client certificate. */
export const undiciClient: MatrixClient = async (attempt) => {
  const agent = new Agent({
    connect: { ...nodeTlsOptions(attempt), timeout: TIMEOUT_SECONDS * 1000 },
    headersTimeout: TIMEOUT_SECONDS * 1000,
    bodyTimeout: TIMEOUT_SECONDS * 1000,
  });
  try {
    const response = await undiciRequest(`https://127.0.0.1:${attempt.port}/`, { dispatcher: agent });
    return { status: response.statusCode, body: await response.body.text() };
  } catch (error) {
    return {
      status: 0,
      body: '',
      error: errorText(error instanceof Error && error.cause !== undefined ? error.cause : error),
    };
  } finally {
    await agent.destroy();
  }
};
