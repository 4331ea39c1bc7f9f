/**
 * koa-mtls: Koa middleware for services behind mutual TLS.
 *
 * Named exports only. The development PKI lives at `koa-mtls/pki` so that production imports never load it.
 *
 * @module koa-mtls
 */

export type { AnonymousRoutes, AnonymousRoutesEntry } from './anonymous/anonymous-routes.js';
export { allowAnonymous } from './anonymous/index.js';
export type {
  AuditEvent,
  AuditHook,
  AuditKind,
  AuditReason,
  PeerSummary,
  RequestIdResolver,
} from './audit/event.js';
export { type AuditConfiguration, configureAudit } from './audit/hook.js';
export {
  type AuthzDecision,
  type AuthzMode,
  type AuthzReason,
  type DistinguishedNameRule,
  type ExplainOptions,
  type ExplainStep,
  type Explanation,
  explain,
  type Patterns,
  type PeerCheck,
  type PeerPolicy,
  type PeerState,
  type RequirePeerOptions,
  type RevocationOptions,
  requirePeer,
  type SanRule,
} from './authz/index.js';
export { InvalidOptionError, KoaMtlsError, type KoaMtlsErrorCode, type KoaMtlsErrorOptions } from './errors.js';
export {
  type CertificateEncoding,
  type ClientCertSource,
  type ForwardedVerificationOptions,
  type HeaderSource,
  type NginxSource,
  type PeerCertificateOptions,
  type PeerCertificateSource,
  peerCertificate,
  peerFromPem,
  summarizePeer,
  type TlsSource,
  type TrustedProxies,
  type XfccSource,
} from './identity/index.js';
export type {
  DistinguishedName,
  DistinguishedNameAttribute,
  KeyUsage,
  OtherName,
  PeerIdentity,
  PeerSource,
  PeerVerification,
  SubjectAltNames,
} from './identity/peer-identity.js';
export {
  type LaunchLineOptions,
  leastPrivilegeLaunchLine,
  type PermissionAuditOptions,
  type PermissionMode,
  type PermissionModelState,
  type PermissionProcess,
  permissionAudit,
  readPermissionModel,
} from './permission/index.js';
export {
  auditContainer,
  type ContainerAuditOptions,
  type ContainerAuditReport,
  type ContainerDetection,
  type PostureCheck,
  type PostureCheckId,
  type PostureFix,
  type PostureSeverity,
  type PostureStatus,
  type PostureThreshold,
} from './posture/index.js';
export {
  describeRoutes,
  type GuardScope,
  type KoaMtlsOperationExtension,
  type OpenApiDocument,
  type OpenApiSecurityOptions,
  openapiSecurity,
  type RouteDescription,
  type RouteFlag,
  type RoutePolicy,
  type RouteSandbox,
} from './routes/index.js';
export {
  createSandbox,
  type MountPolicy,
  type Sandbox,
  type SandboxDenyReason,
  type SandboxedRequestPath,
  type SandboxedState,
  type SandboxMode,
  type SandboxOpenedFile,
  type SandboxOpenFlags,
  type SandboxOpenOptions,
  type SandboxOptions,
  type SandboxPathAccepted,
  SandboxPathError,
  type SandboxPathOptions,
  type SandboxPathReason,
  type SandboxPathRejected,
  type SandboxPathResult,
  type SandboxPathRules,
  type SandboxReason,
  type SymlinkPolicy,
  sandboxPath,
  validateSandboxPath,
} from './sandbox/index.js';
export {
  type CertificateRotation,
  type CertificateWatcher,
  type CertificateWatcherOptions,
  type MtlsConfigErrorCode,
  type MtlsOptionsInput,
  type MtlsProfile,
  type MtlsServerOptions,
  type MtlsWarning,
  type MtlsWarningCode,
  type MtlsWarningHook,
  mtlsOptions,
  onTlsClientRejected,
  type PemInput,
  type ReloadResult,
  watchCertificates,
} from './tls/index.js';
export type { ClientCertificateMode } from './tls/mtls-options.js';
export { createTrust, type Trust, type TrustOptions, type TrustSource } from './trust/index.js';
export { type GuardUpgradeOptions, guardUpgrade } from './upgrade/index.js';
