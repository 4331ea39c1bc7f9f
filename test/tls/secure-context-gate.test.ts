/**
 * The final gate of `mtlsOptions`: whatever OpenSSL itself refuses in `tls.createSecureContext` becomes
 * ERR_MTLS_CONFIG_SECURE_CONTEXT naming the files. OpenSSL is made to refuse through a mock, because every input
 * it would refuse is already caught by an earlier check.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createCertificateAuthority, type IssuedCertificate } from '../../src/pki/index.js';

vi.mock('node:tls', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:tls')>();
  return {
    ...actual,
    createSecureContext: () => {
      throw Object.assign(new Error('Failed to set ECDH curve'), { code: 'ERR_CRYPTO_OPERATION_FAILED' });
    },
  };
});

let server: IssuedCertificate;
let ca: string;

beforeAll(async () => {
  const root = await createCertificateAuthority();
  server = await root.issueServer();
  ca = root.root;
});

describe('when OpenSSL refuses the option set', () => {
  it('throws ERR_MTLS_CONFIG_SECURE_CONTEXT with the OpenSSL reason and the cause', async () => {
    const { mtlsOptions } = await import('../../src/tls/mtls-options.js');
    const attempt = () => mtlsOptions({ key: server.key, cert: server.chain, ca, onWarning: () => undefined });
    expect(attempt).toThrow(
      expect.objectContaining({
        code: 'ERR_MTLS_CONFIG_SECURE_CONTEXT',
        message: expect.stringContaining(
          'option "cert" with option "key": OpenSSL refused the configuration (Failed to set ECDH curve). Fix:',
        ),
        cause: expect.objectContaining({ code: 'ERR_CRYPTO_OPERATION_FAILED' }),
      }),
    );
  });
});
