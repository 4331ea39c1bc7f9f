/**
 * `auditContainer()`: the startup posture report of the running process.
 *
 * @module posture
 */
import { isAbsolute } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AuditHook } from '../audit/event.js';
import { auditHook } from '../audit/hook.js';
import { InvalidOptionError, KoaMtlsError } from '../errors.js';
import {
  assertOptionsObject,
  optionalBoolean,
  optionalChoice,
  optionalFunction,
  optionalString,
  ownValue,
} from '../options/validate.js';
import { readPermissionModel } from '../permission/permission-state.js';
import { checkHostFilesReadable, checkSandboxRoots, checkServiceAccountToken } from './access-checks.js';
import { CATALOG } from './catalog.js';
import { detectContainer } from './container.js';
import { type AuditInputs, type Outcome, readInputs } from './inputs.js';
import { checkHostPathMounted, checkProcSysWritable, checkRootfsWritable, checkRuntimeSocket } from './mount-checks.js';
import { checkHostNetworkNamespace, checkHostPidNamespace } from './namespace-checks.js';
import { checkPermissionModel, permissionScopeChecks } from './permission-checks.js';
import { checkCapabilities, checkLsm, checkNoNewPrivs, checkRunsAsRoot, checkSeccomp } from './process-checks.js';
import { atLeast, bySeverity, SEVERITIES } from './severity.js';
import type {
  ContainerAuditOptions,
  ContainerAuditReport,
  PostureCheck,
  PostureCheckId,
  PostureSeverity,
  PostureThreshold,
} from './types.js';

const OPTION_KEYS = ['root', 'sandboxRoots', 'failOn', 'failOnUnknown', 'onAudit'] as const;
const THRESHOLDS: readonly PostureThreshold[] = ['critical', 'high', 'medium', 'low'];

/** The checks that always run, in report order. */
const CHECKS: readonly (readonly [PostureCheckId, (inputs: AuditInputs) => Outcome])[] = [
  ['RUNS_AS_ROOT', checkRunsAsRoot],
  ['CAPABILITIES', checkCapabilities],
  ['NO_NEW_PRIVS_OFF', checkNoNewPrivs],
  ['SECCOMP_OFF', checkSeccomp],
  ['LSM_UNCONFINED', checkLsm],
  ['ROOTFS_WRITABLE', checkRootfsWritable],
  ['HOST_PATH_MOUNTED', checkHostPathMounted],
  ['RUNTIME_SOCKET', checkRuntimeSocket],
  ['HOST_PID_NAMESPACE', checkHostPidNamespace],
  ['HOST_NETWORK_NAMESPACE', checkHostNetworkNamespace],
  ['SERVICE_ACCOUNT_TOKEN', checkServiceAccountToken],
  ['HOST_FILES_READABLE', checkHostFilesReadable],
  ['PROC_SYS_WRITABLE', checkProcSysWritable],
];

interface CompiledOptions {
  readonly root: string;
  readonly sandboxRoots: readonly string[];
  readonly failOn: PostureThreshold | undefined;
  readonly failOnUnknown: boolean;
  readonly onAudit: AuditHook | undefined;
}

function compileOptions(options: unknown): CompiledOptions {
  const path = 'auditContainer';
  const object = options === undefined ? {} : options;
  assertOptionsObject(object, path, OPTION_KEYS);
  const root = optionalString(object, 'root', path) ?? '/';
  // relative roots would depend on the working directory: an audit must say exactly what it read
  if (!isAbsolute(root) || root.includes('\0'))
    throw new InvalidOptionError(`${path}.root`, 'must be an absolute path');
  const given = ownValue(object, 'sandboxRoots');
  // null is not "none": only an absent option defaults
  const rawRoots = given === undefined ? [] : given;
  if (!Array.isArray(rawRoots)) throw new InvalidOptionError(`${path}.sandboxRoots`, 'must be an array of paths');
  const sandboxRoots = rawRoots.map((entry: unknown, index) => {
    if (typeof entry !== 'string' || !isAbsolute(entry) || entry.includes('\0')) {
      throw new InvalidOptionError(`${path}.sandboxRoots[${index}]`, 'must be an absolute path');
    }
    return entry;
  });
  return Object.freeze({
    root,
    sandboxRoots: Object.freeze(sandboxRoots),
    failOn: optionalChoice(object, 'failOn', path, THRESHOLDS),
    failOnUnknown: optionalBoolean(object, 'failOnUnknown', path) ?? true,
    onAudit: optionalFunction<AuditHook>(object, 'onAudit', path),
  });
}

function toCheck(id: PostureCheckId, outcome: Outcome): PostureCheck {
  const description = CATALOG[id];
  const severity: PostureSeverity =
    outcome.status === 'unknown' ? description.worstCase : outcome.status === 'ok' ? 'info' : outcome.severity;
  return Object.freeze({
    id,
    title: description.title,
    status: outcome.status,
    severity,
    evidence: Object.freeze([...outcome.evidence]),
    why: description.why,
    fix: description.fix,
  });
}

/**
 * The checks of `report` that make `failOn` fail: findings at or above the threshold and, unless
 * `failOnUnknown` is false, unknown checks whose worst case reaches it.
 */
export function failingChecks(
  report: ContainerAuditReport,
  failOn: PostureThreshold,
  failOnUnknown: boolean,
): PostureCheck[] {
  return report.checks.filter(
    (check) =>
      (check.status === 'finding' || (failOnUnknown && check.status === 'unknown')) && atLeast(check.severity, failOn),
  );
}

/**
 * Audits the container the process runs in: effective UID, capabilities, no_new_privs, seccomp, AppArmor/SELinux,
 * a writable root filesystem, host paths and runtime sockets mounted in, host PID/network namespaces, a mounted
 * service-account token, readable traversal targets and (with `sandboxRoots`) the surroundings of each sandbox root.
 *
 * It only reads `/proc` and `/sys`, reads links and calls `stat`/`access`: nothing is written or executed. A check
 * whose inputs cannot be read reports `unknown`, never `ok`. It is synchronous (a few milliseconds), so it can run
 * before a server listens.
 *
 * Limits: it sees what the kernel shows this process. `access(2)` answers for the real UID. Host mounts are
 * recognised by the path inside their filesystem (the `root` field of mountinfo), so a host directory on a disk
 * other than the host's root disk, mounted whole, is not recognised as a host path.
 *
 * @param options - see {@link ContainerAuditOptions}; an unknown key or a wrong type throws `InvalidOptionError`.
 * @returns a frozen {@link ContainerAuditReport}.
 * @throws KoaMtlsError `ERR_POSTURE_FAIL` when `failOn` is set and a check reaches it; the report is its `cause`.
 *
 * @example
 * ```ts
 * import { auditContainer } from 'koa-mtls';
 * import pino from 'pino';
 * const log = pino();
 * // log every finding, and refuse to start on anything high or critical
 * auditContainer({ failOn: 'high', sandboxRoots: ['/srv/files'], onAudit: (event) => log.warn(event, event.reason) });
 * ```
 */
export function auditContainer(options?: ContainerAuditOptions): ContainerAuditReport {
  const compiled = compileOptions(options);
  const started = performance.now();
  const inputs = readInputs(compiled.root);
  const container = detectContainer(inputs);
  const checks = CHECKS.map(([id, run]) => toCheck(id, run(inputs)));
  if (compiled.sandboxRoots.length > 0) {
    checks.push(toCheck('SANDBOX_ROOT_EXPOSED', checkSandboxRoots(inputs, compiled.sandboxRoots)));
  }
  // the permission model belongs to this Node process: a captured tree under another root has none to report
  if (compiled.root === '/') {
    const permission = readPermissionModel();
    checks.push(toCheck('PERMISSION_MODEL', checkPermissionModel(permission)));
    for (const [id, outcome] of permissionScopeChecks(permission)) checks.push(toCheck(id, outcome));
  }
  const findings = checks.filter((check) => check.status === 'finding').sort(bySeverity);
  const highestSeverity = SEVERITIES.find((severity) => findings.some((check) => check.severity === severity));
  const report: ContainerAuditReport = Object.freeze({
    root: compiled.root,
    container: Object.freeze({ ...container, evidence: Object.freeze([...container.evidence]) }),
    checks: Object.freeze(checks),
    findings: Object.freeze(findings),
    unknown: Object.freeze(checks.filter((check) => check.status === 'unknown')),
    highestSeverity,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
  });
  const hook = auditHook(compiled.onAudit);
  if (hook !== undefined) {
    for (const check of [...findings, ...report.unknown]) {
      hook({
        kind: 'posture',
        outcome: 'warn',
        reason: check.id,
        detail: {
          status: check.status,
          severity: check.severity,
          title: check.title,
          evidence: check.evidence,
          fix: check.fix,
        },
      });
    }
  }
  if (compiled.failOn !== undefined) {
    const failing = failingChecks(report, compiled.failOn, compiled.failOnUnknown);
    if (failing.length > 0) {
      const list = failing.map((check) => `${check.id} (${check.status === 'unknown' ? 'unknown' : check.severity})`);
      throw new KoaMtlsError(
        'ERR_POSTURE_FAIL',
        `Container posture check failed at "${compiled.failOn}": ${list.join(', ')}`,
        { cause: report },
      );
    }
  }
  return report;
}
