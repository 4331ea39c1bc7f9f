/**
 * Process confinement with Node's permission model: what it allows (`readPermissionModel`), the least-privilege
 * command line (`leastPrivilegeLaunchLine`), and violations attributed to requests (`permissionAudit`).
 *
 * @module permission
 */
export { type LaunchLineOptions, leastPrivilegeLaunchLine } from './launch-line.js';
export {
  type PermissionMode,
  type PermissionModelState,
  type PermissionProcess,
  readPermissionModel,
} from './permission-state.js';
export { type PermissionAuditOptions, permissionAudit } from './violation-context.js';
