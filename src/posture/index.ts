/**
 * Container posture: what in the running container weakens mTLS, authorization and path confinement.
 *
 * @module posture
 */
export { auditContainer } from './audit-container.js';
export type {
  ContainerAuditOptions,
  ContainerAuditReport,
  ContainerDetection,
  PostureCheck,
  PostureCheckId,
  PostureFix,
  PostureSeverity,
  PostureStatus,
  PostureThreshold,
} from './types.js';
