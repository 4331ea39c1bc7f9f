/**
 * The test PKI of the client matrix, made at test time with `src/pki`: one root for the server and the clients,
 * another root nobody trusts, one client certificate per case, a CRL revoking one of them, and the PEM files the
 * command-line clients need.
 */
import { createCertificateAuthority, type IssuedCertificate } from '../../../src/pki/index.js';
import { temporaryDirectory, writeFile } from '../../helpers/temporary-directory.js';
import { permissiveOpensslConfig } from '../../tls/fixtures.js';

const DAY = 86_400_000;

/** The client certificates of the matrix, one per way a certificate can be bad (plus a good one). */
export type ClientCertificateName =
  | 'valid'
  | 'otherCa'
  | 'expired'
  | 'notYetValid'
  | 'revoked'
  | 'rsa1024'
  | 'sha1'
  | 'serverAuthOnly';

/** The subject of each client certificate (single RDN, so the RFC 4514 string is the same in either order). */
const SUBJECTS: Readonly<Record<ClientCertificateName, string>> = {
  valid: 'CN=valid-client',
  otherCa: 'CN=other-ca-client',
  expired: 'CN=expired-client',
  notYetValid: 'CN=future-client',
  revoked: 'CN=revoked-client',
  rsa1024: 'CN=rsa1024-client',
  sha1: 'CN=sha1-client',
  serverAuthOnly: 'CN=server-eku-client',
};

/** A client certificate as PEM (for Node clients) and as files (for curl and openssl). */
export interface ClientIdentity {
  readonly issued: IssuedCertificate;
  /** The subject as `onTlsClientRejected` reports it. */
  readonly subject: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** RSA-1024 or SHA-1: a command-line client must lower its own security level to send it at all. */
  readonly weak: boolean;
}

/** Everything the matrix needs. `dispose()` removes the files. */
export interface MatrixPki {
  readonly dir: string;
  /** The root the server trusts for clients, and the clients trust for the server. */
  readonly caPem: string;
  readonly caFile: string;
  readonly crlPem: string;
  /** An OpenSSL config at security level 0 (for `OPENSSL_CONF`), so that curl sends a weak certificate. */
  readonly permissiveOpensslConf: string;
  readonly server: IssuedCertificate;
  readonly clients: Readonly<Record<ClientCertificateName, ClientIdentity>>;
  dispose(): void;
}

/** Creates the matrix PKI (two EC roots, nine EC and one RSA-1024 key: about 0.3 s). */
export async function createMatrixPki(): Promise<MatrixPki> {
  const dir = temporaryDirectory('matrix');
  const root = await createCertificateAuthority({ subject: 'CN=Matrix Root,O=koa-mtls tests' });
  const other = await createCertificateAuthority({ subject: 'CN=Untrusted Root,O=koa-mtls tests' });
  const now = Date.now();
  const issued: Record<ClientCertificateName, IssuedCertificate> = {
    valid: await root.issueClient({ subject: SUBJECTS.valid }),
    otherCa: await other.issueClient({ subject: SUBJECTS.otherCa }),
    expired: await root.issueClient({
      subject: SUBJECTS.expired,
      notBefore: new Date(now - 10 * DAY),
      notAfter: new Date(now - DAY),
    }),
    notYetValid: await root.issueClient({
      subject: SUBJECTS.notYetValid,
      notBefore: new Date(now + DAY),
      notAfter: new Date(now + 10 * DAY),
    }),
    revoked: await root.issueClient({ subject: SUBJECTS.revoked }),
    rsa1024: await root.issueClient({ subject: SUBJECTS.rsa1024, keyAlgorithm: 'rsa-1024' }),
    sha1: await root.issueClient({ subject: SUBJECTS.sha1, signatureHash: 'SHA-1' }),
    serverAuthOnly: await root.issueClient({ subject: SUBJECTS.serverAuthOnly, extendedKeyUsage: ['serverAuth'] }),
  };
  const clients = {} as Record<ClientCertificateName, ClientIdentity>;
  for (const name of Object.keys(issued) as ClientCertificateName[]) {
    clients[name] = {
      issued: issued[name],
      subject: SUBJECTS[name],
      certFile: writeFile(dir.path, `${name}.crt`, issued[name].chain),
      keyFile: writeFile(dir.path, `${name}.key`, issued[name].key),
      weak: name === 'rsa1024' || name === 'sha1',
    };
  }
  return {
    dir: dir.path,
    caPem: root.root,
    caFile: writeFile(dir.path, 'ca.crt', root.root, 0o644),
    crlPem: await root.createCrl({ revoked: [{ serialNumber: issued.revoked.serialNumber }] }),
    permissiveOpensslConf: permissiveOpensslConfig(dir.path),
    server: await root.issueServer(),
    clients,
    dispose: () => dir.dispose(),
  };
}
