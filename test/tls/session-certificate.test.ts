import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';
import { sessionPeerCertificate } from '../../src/tls/session-certificate.js';
import { httpsRequest } from '../helpers/https-client.js';
import { close, listen } from '../helpers/listen.js';

/** What the server saw on the connection of one request. */
interface Seen {
  readonly fromSession: Uint8Array | undefined;
  readonly presented: Buffer | undefined;
}

let ca: string;
let client: IssuedCertificate;
let server: Server;
let port: number;
const seen: Seen[] = [];

beforeAll(async () => {
  const authority = await createCertificateAuthority({ subject: 'CN=session test root' });
  ca = authority.root;
  client = await authority.issueClient({ subject: 'CN=session client' });
  const serverPair = await authority.issueServer();
  server = createServer(
    { key: serverPair.key, cert: serverPair.chain, ca, requestCert: true, rejectUnauthorized: false },
    (request, response) => {
      const socket = request.socket as TLSSocket;
      seen.push({ fromSession: sessionPeerCertificate(socket), presented: socket.getPeerCertificate(false).raw });
      response.end('ok');
    },
  );
  port = await listen(server);
});

afterAll(() => close(server));

describe('reading the peer certificate from a real TLS session', () => {
  it.each(['TLSv1.3', 'TLSv1.2'] as const)(
    'returns exactly the certificate the peer presented (%s)',
    async (maxVersion) => {
      await httpsRequest({ port, ca, cert: client.chain, key: client.key, maxVersion });
      const last = seen.at(-1) as Seen;
      expect(last.fromSession).toBeDefined();
      expect(Buffer.from(last.fromSession as Uint8Array).equals(last.presented as Buffer)).toBe(true);
    },
  );

  it('returns nothing when the client sent no certificate', async () => {
    await httpsRequest({ port, ca });
    expect(seen.at(-1)?.fromSession).toBeUndefined();
  });
});

/** A session: SEQUENCE { INTEGER 1, ...fields }. */
function session(...fields: number[][]): Buffer {
  const content = [0x02, 0x01, 0x01, ...fields.flat()];
  return Buffer.from([0x30, content.length, ...content]);
}
const certificateLike = [0x30, 0x03, 0x02, 0x01, 0x05];

describe('reading a session it does not recognize', () => {
  it.each([
    ['no getSession method', {}],
    [
      'getSession throws (destroyed socket, HTTP/2 proxy)',
      {
        getSession: () => {
          throw new Error('gone');
        },
      },
    ],
    ['no session', { getSession: () => undefined }],
    ['bytes that are not DER', { getSession: () => Buffer.from('not a session') }],
    ['trailing bytes', { getSession: () => Buffer.concat([session([0xa3, 5, ...certificateLike]), Buffer.from([0])]) }],
    ['no peer field', { getSession: () => session([0xa4, 0x03, 0x04, 0x01, 0x00]) }],
    ['two peer fields', { getSession: () => session([0xa3, 5, ...certificateLike], [0xa3, 5, ...certificateLike]) }],
    ['a primitive peer field', { getSession: () => session([0x83, 5, ...certificateLike]) }],
    ['a peer field holding an INTEGER', { getSession: () => session([0xa3, 3, 0x02, 0x01, 0x05]) }],
    [
      'a peer field with bytes after the certificate',
      { getSession: () => session([0xa3, 6, ...certificateLike, 0x00]) },
    ],
  ])('returns nothing for %s', (_label, socket) => {
    expect(sessionPeerCertificate(socket as unknown as TLSSocket)).toBeUndefined();
  });

  it('returns the certificate of a well-formed peer field', () => {
    const found = sessionPeerCertificate({
      getSession: () => session([0xa3, 5, ...certificateLike]),
    } as unknown as TLSSocket);
    expect(Buffer.from(found as Uint8Array)).toEqual(Buffer.from(certificateLike));
  });
});
