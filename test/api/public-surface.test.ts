import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The public surface is exactly the documented set of names: a new export, a renamed type or a leaked internal
 * fails here and must be added on purpose (README, CHANGELOG). Values are checked at runtime; values and types
 * together with the TypeScript checker, which sees `export type` entries too.
 */
const RUNTIME_INDEX = [
  'InvalidOptionError',
  'allowAnonymous',
  'guardUpgrade',
  'KoaMtlsError',
  'SandboxPathError',
  'auditContainer',
  'configureAudit',
  'createSandbox',
  'createTrust',
  'describeRoutes',
  'explain',
  'leastPrivilegeLaunchLine',
  'mtlsOptions',
  'onTlsClientRejected',
  'openapiSecurity',
  'peerCertificate',
  'peerFromPem',
  'permissionAudit',
  'readPermissionModel',
  'requirePeer',
  'sandboxPath',
  'summarizePeer',
  'validateSandboxPath',
  'watchCertificates',
];

const TYPES_INDEX = [
  'AnonymousRoutes',
  'AnonymousRoutesEntry',
  'AuditConfiguration',
  'ClientCertificateMode',
  'GuardUpgradeOptions',
  'AuditEvent',
  'AuditHook',
  'AuditKind',
  'AuditReason',
  'AuthzDecision',
  'AuthzMode',
  'AuthzReason',
  'CertificateEncoding',
  'CertificateRotation',
  'CertificateWatcher',
  'CertificateWatcherOptions',
  'ClientCertSource',
  'ContainerAuditOptions',
  'ContainerAuditReport',
  'ContainerDetection',
  'DistinguishedName',
  'DistinguishedNameAttribute',
  'DistinguishedNameRule',
  'ExplainOptions',
  'ExplainStep',
  'Explanation',
  'ForwardedVerificationOptions',
  'GuardScope',
  'HeaderSource',
  'KeyUsage',
  'KoaMtlsErrorCode',
  'KoaMtlsErrorOptions',
  'KoaMtlsOperationExtension',
  'LaunchLineOptions',
  'MountPolicy',
  'MtlsConfigErrorCode',
  'MtlsOptionsInput',
  'MtlsProfile',
  'MtlsServerOptions',
  'MtlsWarning',
  'MtlsWarningCode',
  'MtlsWarningHook',
  'NginxSource',
  'OpenApiDocument',
  'OpenApiSecurityOptions',
  'OtherName',
  'Patterns',
  'PeerCertificateOptions',
  'PeerCertificateSource',
  'PeerCheck',
  'PeerIdentity',
  'PeerPolicy',
  'PeerState',
  'PeerSource',
  'PeerSummary',
  'PeerVerification',
  'PemInput',
  'PermissionAuditOptions',
  'PermissionMode',
  'PermissionModelState',
  'PermissionProcess',
  'PostureCheck',
  'PostureCheckId',
  'PostureFix',
  'PostureSeverity',
  'PostureStatus',
  'PostureThreshold',
  'ReloadResult',
  'RequestIdResolver',
  'RequirePeerOptions',
  'RevocationOptions',
  'RouteDescription',
  'RouteFlag',
  'RoutePolicy',
  'RouteSandbox',
  'SanRule',
  'Sandbox',
  'SandboxDenyReason',
  'SandboxMode',
  'SandboxOpenFlags',
  'SandboxOpenedFile',
  'SandboxOpenOptions',
  'SandboxOptions',
  'SandboxPathAccepted',
  'SandboxPathOptions',
  'SandboxPathReason',
  'SandboxPathRejected',
  'SandboxPathResult',
  'SandboxPathRules',
  'SandboxReason',
  'SandboxedRequestPath',
  'SandboxedState',
  'SubjectAltNames',
  'SymlinkPolicy',
  'TlsSource',
  'Trust',
  'TrustOptions',
  'TrustSource',
  'TrustedProxies',
  'XfccSource',
];

const RUNTIME_PKI = ['createCertificateAuthority', 'keyAlgorithms', 'loadCertificateAuthority', 'toPkcs12'];
const TYPES_PKI = [
  'CertificateAuthority',
  'CertificateAuthorityOptions',
  'CertificateOptions',
  'CrlOptions',
  'DistinguishedNameAttributeInput',
  'DistinguishedNameInput',
  'ExtendedKeyUsageName',
  'IssuedCertificate',
  'KeyAlgorithm',
  'Pkcs12Options',
  'RevokedCertificate',
  'SignatureHash',
  'SubjectAltNameInput',
];

const sorted = (names: readonly string[]) => [...names].sort();

/** Every name a module exports, values and types, as the TypeScript checker sees them. */
function declaredExports(files: readonly string[]): Map<string, string[]> {
  const program = ts.createProgram([...files], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  return new Map(
    files.map((file) => {
      const source = program.getSourceFile(file);
      const symbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
      if (symbol === undefined) throw new Error(`cannot read the exports of ${file}`);
      return [file, sorted(checker.getExportsOfModule(symbol).map((s) => s.name))];
    }),
  );
}

describe('the public surface', () => {
  it('koa-mtls exports exactly the documented values, and no default export', async () => {
    const module = await import('../../src/index.js');
    expect(sorted(Object.keys(module))).toEqual(sorted(RUNTIME_INDEX));
    expect('default' in module).toBe(false);
  });

  it('koa-mtls/pki exports exactly the documented values', async () => {
    const module = await import('../../src/pki/index.js');
    expect(sorted(Object.keys(module))).toEqual(sorted(RUNTIME_PKI));
  });

  it('both entry points declare exactly the documented values and types', () => {
    const index = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
    const pki = fileURLToPath(new URL('../../src/pki/index.ts', import.meta.url));
    const exports = declaredExports([index, pki]);
    expect(exports.get(index)).toEqual(sorted([...RUNTIME_INDEX, ...TYPES_INDEX]));
    expect(exports.get(pki)).toEqual(sorted([...RUNTIME_PKI, ...TYPES_PKI]));
  });
});
