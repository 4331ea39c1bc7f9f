/**
 * Checks of what the process can read (`access(2)` with `R_OK`, which uses the real UID): the Kubernetes
 * service-account token, the first targets of a traversal, and the surroundings of each sandbox root.
 */
import { dirname, posix } from 'node:path';
import { hostPathExposure } from '../host-paths/host-paths.js';
import { type AuditInputs, finding, type Outcome, ok, unknown } from './inputs.js';
import { findHostMounts } from './mount-checks.js';
import { mountContaining } from './mountinfo.js';
import { INITIAL_PID_NAMESPACE } from './namespace-checks.js';
import { maxSeverity } from './severity.js';
import type { PostureSeverity } from './types.js';

/** Where Kubernetes and cloud identity webhooks project tokens. */
const TOKEN_PATHS = [
  '/var/run/secrets/kubernetes.io/serviceaccount/token',
  '/run/secrets/kubernetes.io/serviceaccount/token',
  '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
  '/var/run/secrets/azure/tokens/azure-identity-token',
];

/** Files a traversal goes for first, and how bad reading each is. */
const SENSITIVE_FILES: readonly { readonly path: string; readonly severity: PostureSeverity; readonly pid1?: true }[] =
  [
    { path: '/etc/shadow', severity: 'high' },
    { path: '/etc/gshadow', severity: 'medium' },
    { path: '/root/', severity: 'medium' },
    { path: '/etc/ssl/private/', severity: 'medium' },
    { path: '/etc/kubernetes/', severity: 'high' },
    // PID 1's root and environment belong to another process unless this process is PID 1
    { path: '/proc/1/root/', severity: 'high', pid1: true },
    { path: '/proc/1/environ', severity: 'medium', pid1: true },
  ];

/**
 * A Kubernetes (or cloud identity) token is mounted.
 */
export function checkServiceAccountToken(inputs: AuditInputs): Outcome {
  const evidence: string[] = [];
  const errors: string[] = [];
  let severity: PostureSeverity = 'info';
  for (const path of TOKEN_PATHS) {
    const access = inputs.view.canRead(path);
    if (access === 'yes') {
      evidence.push(`${path} is readable`);
      severity = maxSeverity(severity, 'medium');
    } else if (access === 'no') {
      evidence.push(`${path} is present (not readable by this process)`);
      severity = maxSeverity(severity, 'low');
    } else if (access !== 'missing') {
      errors.push(`cannot check ${path} (${access.error})`);
    }
  }
  if (evidence.length > 0) return finding(severity, evidence);
  if (errors.length > 0) return unknown(...errors);
  return ok('no service-account token at the Kubernetes or cloud identity paths');
}

/**
 * None of the usual traversal targets is readable.
 */
export function checkHostFilesReadable(inputs: AuditInputs): Outcome {
  const self = inputs.view.readLink('/proc/self');
  const pidNamespace = inputs.view.readLink('/proc/self/ns/pid');
  // PID 1 is this process, or the container's own init (its files are the container's): only the host's PID 1 counts
  const ownPid1 = (self.ok && self.text === '1') || (pidNamespace.ok && pidNamespace.text !== INITIAL_PID_NAMESPACE);
  const readable: string[] = [];
  const refused: string[] = [];
  const errors: string[] = [];
  let severity: PostureSeverity = 'info';
  for (const file of SENSITIVE_FILES) {
    if (file.pid1 && ownPid1) continue;
    const access = inputs.view.canRead(file.path);
    if (access === 'yes') {
      readable.push(file.path);
      severity = maxSeverity(severity, file.severity);
    } else if (access === 'no') {
      refused.push(file.path);
    } else if (access !== 'missing') {
      errors.push(`cannot check ${file.path} (${access.error})`);
    }
  }
  if (readable.length > 0) {
    const rest = refused.length > 0 ? [`not readable: ${refused.join(', ')}`] : [];
    return finding(severity, [`readable: ${readable.join(', ')}`, ...rest, ...errors]);
  }
  // without /proc/self, a missing /proc/1/root says nothing about the host
  if (!self.ok) errors.push(`cannot read /proc/self (${self.error})`);
  if (errors.length > 0) return unknown(...errors);
  return ok(refused.length > 0 ? `not readable: ${refused.join(', ')}` : 'none of the checked files exists');
}

/**
 * Each sandbox root is not a system or host path, and its parent is not readable.
 */
export function checkSandboxRoots(inputs: AuditInputs, sandboxRoots: readonly string[]): Outcome {
  const evidence: string[] = [];
  const errors: string[] = [];
  const fine: string[] = [];
  let severity: PostureSeverity = 'info';
  const hostMounts = inputs.mounts.ok ? findHostMounts(inputs.mounts.mounts) : undefined;
  for (const rawRoot of sandboxRoots) {
    // normalise, and drop a trailing slash so "/srv/files/" names the same directory and parent as "/srv/files"
    const normalized = posix.normalize(rawRoot);
    const root = normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
    const stat = inputs.view.stat(root);
    if (!stat.ok) {
      errors.push(`cannot stat sandbox root ${root} (${stat.error})`);
      continue;
    }
    const before = evidence.length;
    // the rule createSandbox refuses roots by: the audit reports what the sandbox would refuse, nothing else
    const exposure = hostPathExposure(root);
    if (exposure !== undefined) {
      evidence.push(`${root} is a host path: ${exposure}`);
      severity = maxSeverity(severity, 'high');
    }
    if (inputs.mounts.ok && hostMounts !== undefined) {
      const mount = mountContaining(inputs.mounts.mounts, root);
      const host = hostMounts.find((candidate) => candidate.mount === mount);
      if (host !== undefined) {
        evidence.push(`${root} is on a host mount: ${host.description}`);
        severity = maxSeverity(severity, host.severity);
      }
    } else {
      errors.push(`cannot tell which mount ${root} is on (mountinfo unreadable)`);
    }
    if (root !== '/') {
      const parent = dirname(root);
      const access = inputs.view.canRead(parent);
      if (access === 'yes') {
        // a confinement bug or a symlink that escapes by one level reaches the siblings of the root
        evidence.push(`parent ${parent} of ${root} is readable`);
        severity = maxSeverity(severity, 'low');
      } else if (access !== 'no' && access !== 'missing') {
        errors.push(`cannot check parent ${parent} (${access.error})`);
      }
    }
    if (evidence.length === before) fine.push(root);
  }
  if (evidence.length > 0) return finding(severity, [...evidence, ...errors]);
  if (errors.length > 0) return unknown(...errors);
  return ok(`${fine.join(', ')}: not a system or host path, parent not readable`);
}
