/**
 * The public shapes of a container posture report: one {@link PostureCheck} per check, in a fixed order, each `ok`,
 * a `finding` or `unknown` (a check that could not be made is never reported as `ok`).
 *
 * @module posture
 */
import type { AuditHook } from '../audit/event.js';

/**
 * How much a finding weakens the process's confinement, from `critical` (an authenticated route can reach the host)
 * down to `info` (context only, never a reason to fail).
 *
 * @example
 * ```ts
 * import { auditContainer, type PostureSeverity } from 'koa-mtls';
 *
 * const worst: PostureSeverity | undefined = auditContainer().highestSeverity;
 * ```
 */
export type PostureSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';

/**
 * The severities `failOn` accepts (`info` never fails).
 *
 * @example
 * ```ts
 * import type { PostureThreshold } from 'koa-mtls';
 *
 * const failOn: PostureThreshold = 'high';
 * ```
 */
export type PostureThreshold = Exclude<PostureSeverity, 'info'>;

/**
 * What one check concluded: `ok`, a `finding`, or `unknown` when its inputs could not be read.
 *
 * @example
 * ```ts
 * import { auditContainer, type PostureStatus } from 'koa-mtls';
 *
 * const status: PostureStatus | undefined = auditContainer().checks[0]?.status;
 * ```
 */
export type PostureStatus = 'ok' | 'finding' | 'unknown';

/**
 * The stable id of every check, in the order checks run and are reported.
 *
 * @example
 * ```ts
 * import type { PostureCheckId } from 'koa-mtls';
 *
 * const accepted = new Set<PostureCheckId>(['LSM_UNCONFINED']);
 * ```
 */
export type PostureCheckId =
  | 'RUNS_AS_ROOT'
  | 'CAPABILITIES'
  | 'NO_NEW_PRIVS_OFF'
  | 'SECCOMP_OFF'
  | 'LSM_UNCONFINED'
  | 'ROOTFS_WRITABLE'
  | 'HOST_PATH_MOUNTED'
  | 'RUNTIME_SOCKET'
  | 'HOST_PID_NAMESPACE'
  | 'HOST_NETWORK_NAMESPACE'
  | 'SERVICE_ACCOUNT_TOKEN'
  | 'HOST_FILES_READABLE'
  | 'PROC_SYS_WRITABLE'
  | 'SANDBOX_ROOT_EXPOSED'
  | 'PERMISSION_MODEL'
  | 'PERMISSION_FS_READ'
  | 'PERMISSION_FS_WRITE'
  | 'PERMISSION_CHILD_PROCESS'
  | 'PERMISSION_ADDONS'
  | 'PERMISSION_WORKER'
  | 'PERMISSION_WASI';

/**
 * The setting that removes a finding, for Docker and for Kubernetes.
 *
 * @example
 * ```ts
 * import { auditContainer, type PostureFix } from 'koa-mtls';
 *
 * const fix: PostureFix | undefined = auditContainer().findings[0]?.fix;
 * ```
 */
export interface PostureFix {
  /** A `docker run` flag or Compose key. */
  readonly docker: string;
  /** A pod or container spec field. */
  readonly kubernetes: string;
}

/**
 * The result of one check.
 *
 * @example
 * ```ts
 * import { auditContainer } from 'koa-mtls';
 * for (const check of auditContainer().findings) console.warn(check.severity, check.id, check.evidence.join('; '));
 * ```
 */
export interface PostureCheck {
  /** Stable id, usable in allow-lists and dashboards. */
  readonly id: PostureCheckId;
  /** One line naming what is checked. */
  readonly title: string;
  /** `ok`, `finding`, or `unknown` when the inputs could not be read. */
  readonly status: PostureStatus;
  /**
   * For a `finding`, how severe what was observed is; for `unknown`, the worst severity the check can report (it
   * could not rule that out); for `ok`, `info`.
   */
  readonly severity: PostureSeverity;
  /** What was observed, one fact per entry (file and value), or why nothing could be observed. */
  readonly evidence: readonly string[];
  /** Why it matters for a route that an authenticated peer can call. */
  readonly why: string;
  /** How to remove the finding. */
  readonly fix: PostureFix;
}

/**
 * Whether the process runs in a container, and why that was concluded.
 *
 * @example
 * ```ts
 * import { auditContainer, type ContainerDetection } from 'koa-mtls';
 *
 * const { status, runtime }: ContainerDetection = auditContainer().container;
 * ```
 */
export interface ContainerDetection {
  /** `yes`, `no`, or `unknown` when `/proc` could not be read. */
  readonly status: 'yes' | 'no' | 'unknown';
  /** The runtime or orchestrator the signs point to, e.g. `docker`, `kubernetes`, `podman`. */
  readonly runtime?: string;
  /** The signs seen (file names and matched values). */
  readonly evidence: readonly string[];
}

/**
 * The posture report of the running process.
 *
 * @example
 * ```ts
 * import { auditContainer } from 'koa-mtls';
 * const report = auditContainer();
 * if (report.container.status === 'yes' && report.highestSeverity === 'critical') process.exitCode = 1;
 * ```
 */
export interface ContainerAuditReport {
  /** The directory `/proc`, `/sys` and every other path was read under (`/` unless `root` was given). */
  readonly root: string;
  /** Whether this looks like a container. */
  readonly container: ContainerDetection;
  /** Every check, in a fixed order, including the `ok` and `unknown` ones. */
  readonly checks: readonly PostureCheck[];
  /** The checks with status `finding`, most severe first. */
  readonly findings: readonly PostureCheck[];
  /** The checks with status `unknown`. */
  readonly unknown: readonly PostureCheck[];
  /** The most severe finding, or `undefined` when there is none. */
  readonly highestSeverity: PostureSeverity | undefined;
  /** How long the audit took, in milliseconds. */
  readonly durationMs: number;
}

/**
 * Options of {@link auditContainer}. All are optional.
 *
 * @example
 * ```ts
 * import { auditContainer } from 'koa-mtls';
 * auditContainer({ sandboxRoots: ['/srv/files'], failOn: 'high', onAudit: (e) => log.warn(e, e.reason) });
 * ```
 */
export interface ContainerAuditOptions {
  /**
   * Absolute directory under which `/proc`, `/sys` and every checked path are read. Default `/`. Useful to audit a
   * captured tree, and for tests.
   */
  readonly root?: string;
  /**
   * Absolute paths of the sandbox roots the application serves files from; each is checked for a readable parent
   * and for sitting on a host path. Default: none.
   */
  readonly sandboxRoots?: readonly string[];
  /**
   * Throw a `KoaMtlsError` with code `ERR_POSTURE_FAIL` when a finding at or above this severity exists. Default:
   * never throw.
   */
  readonly failOn?: PostureThreshold;
  /**
   * Whether an `unknown` check whose worst case reaches `failOn` also fails (fail closed). Default `true`.
   */
  readonly failOnUnknown?: boolean;
  /**
   * Receives one audit event (`kind: 'posture'`, `outcome: 'warn'`, `reason`: the check id) per finding and per
   * unknown check, before `failOn` is applied. Default: nothing is logged.
   */
  readonly onAudit?: AuditHook;
}
