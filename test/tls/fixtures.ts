/**
 * Clients for the TLS tests, bounded, against `127.0.0.1`: Node `https`, `openssl s_client`, a raw `tls.connect`
 * session, and the OpenSSL configuration that lets a weak client certificate be sent at all.
 */
import { connect } from 'node:tls';
import { httpsRequest } from '../helpers/https-client.js';
import { sClientGet } from '../helpers/openssl.js';
import { writeFile } from '../helpers/temporary-directory.js';

/** The outcome of one client attempt: the HTTP status (0 when the connection failed) and the error, if any. */
export interface ClientOutcome {
  readonly status: number;
  readonly body: string;
  readonly error?: string;
}

/** A client identity: PEM certificate (chain) and key, or none. */
export interface ClientCredentials {
  readonly cert?: string;
  readonly key?: string;
}

/** One HTTPS GET with Node's client ({@link httpsRequest}: SNI `localhost`, no connection reuse). */
export async function nodeGet(
  port: number,
  ca: string,
  client: ClientCredentials,
  extra: { readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {},
): Promise<ClientOutcome> {
  const { status, body, error } = await httpsRequest({ port, ca, ...client, ...extra });
  return error === undefined ? { status, body } : { status, body, error };
}

/** Files for the command-line clients. */
export interface ClientFiles {
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** One HTTP/1.0 GET over `openssl s_client`. */
export async function opensslGet(
  port: number,
  caFile: string,
  client: ClientFiles,
  extra: readonly string[] = [],
): Promise<ClientOutcome> {
  const { stdout } = await sClientGet(port, { caFile, ...client, extra: ['-verify_return_error', '-quiet', ...extra] });
  const match = /^HTTP\/1\.[01] (\d{3})/m.exec(stdout);
  return match === null
    ? { status: 0, body: '', error: 'no HTTP response' }
    : { status: Number(match[1]), body: stdout };
}

/** A full `openssl s_client` transcript (handshake details, session, HTTP/1.0 response). */
export async function opensslTranscript(
  port: number,
  caFile: string,
  client: ClientFiles,
  extra: readonly string[] = [],
): Promise<string> {
  return (await sClientGet(port, { caFile, ...client, extra: ['-ign_eof', ...extra] })).stdout;
}

/**
 * An OpenSSL config at security level 0, for `OPENSSL_CONF`: curl checks its own certificate against the system
 * level (2 on Debian) before any `--ciphers` applies, so a weak client certificate needs it to be sent at all.
 */
export function permissiveOpensslConfig(dir: string): string {
  return writeFile(
    dir,
    'openssl-seclevel0.cnf',
    [
      'openssl_conf = default_conf',
      '[default_conf]',
      'ssl_conf = ssl_sect',
      '[ssl_sect]',
      'system_default = system_default_sect',
      '[system_default_sect]',
      'CipherString = DEFAULT@SECLEVEL=0',
      '',
    ].join('\n'),
  );
}

/** What one raw TLS connection saw. */
export interface TlsExchange {
  /** The HTTP status line's code, or 0 when the server dropped the connection. */
  readonly status: number;
  /** Whether the TLS session was resumed. */
  readonly reused: boolean;
  /** The session to resume later (the last ticket received). */
  readonly session: Buffer | undefined;
  /** SHA-256 fingerprint of the server certificate, colon-separated upper-case hex (Node's format). */
  readonly serverFingerprint: string | undefined;
}

/** One HTTP/1.1 request over `tls.connect` (SNI `localhost`), optionally resuming `session`. */
export function tlsRequest(
  port: number,
  options: { readonly ca: string; readonly cert?: string; readonly key?: string; readonly session?: Buffer },
): Promise<TlsExchange> {
  return new Promise((done) => {
    let response = '';
    let session: Buffer | undefined;
    let reused = false;
    let serverFingerprint: string | undefined;
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: options.ca,
      ...(options.cert === undefined ? {} : { cert: options.cert }),
      ...(options.key === undefined ? {} : { key: options.key }),
      ...(options.session === undefined ? {} : { session: options.session }),
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.on('session', (ticket: Buffer) => {
      session = ticket;
    });
    socket.on('secureConnect', () => {
      reused = socket.isSessionReused();
      serverFingerprint = socket.getPeerX509Certificate()?.fingerprint256;
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      response += chunk;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(response);
      done({ status: match === null ? 0 : Number(match[1]), reused, session, serverFingerprint });
    });
  });
}
