/**
 * Checks on the process's own credentials and confinement, from `/proc/self/status` and `/proc/self/attr`:
 * effective UID, capabilities, no_new_privs, seccomp, AppArmor/SELinux.
 */
import { capabilityNames, capabilitySeverity, KNOWN_CAPABILITY_COUNT, parseCapabilityMask } from './capabilities.js';
import { type AuditInputs, cannotRead, finding, type Outcome, ok, unknown } from './inputs.js';
import { atLeast, maxSeverity } from './severity.js';
import type { PostureSeverity } from './types.js';
import { readUserNamespace } from './user-namespace.js';

/**
 * Effective UID 0; softened when a user namespace maps it to an unprivileged host UID.
 */
export function checkRunsAsRoot(inputs: AuditInputs): Outcome {
  if (!inputs.status.ok) return unknown(cannotRead('/proc/self/status', inputs.status.error));
  // proc(5): Uid: real, effective, saved set, filesystem
  const uids = inputs.status.fields.get('Uid')?.split(/\s+/);
  const effective = uids?.[1];
  if (effective === undefined || !/^\d+$/.test(effective)) return unknown('/proc/self/status has no effective Uid');
  if (effective !== '0') return ok(`effective UID ${effective}`);
  const userns = readUserNamespace(inputs.view);
  if (userns.kind === 'unprivileged') {
    const host = userns.rootOutside === undefined ? 'an unprivileged host UID' : `host UID ${userns.rootOutside}`;
    return finding('medium', [`effective UID 0, mapped to ${host} by a user namespace`, userns.evidence]);
  }
  if (userns.kind === 'unknown') return finding('high', ['effective UID 0', userns.evidence]);
  return finding('high', [`effective UID 0 (not remapped by a user namespace)`, userns.evidence]);
}

/**
 * Effective (and bounding) capabilities beyond NET_BIND_SERVICE.
 */
export function checkCapabilities(inputs: AuditInputs): Outcome {
  if (!inputs.status.ok) return unknown(cannotRead('/proc/self/status', inputs.status.error));
  const fields = inputs.status.fields;
  const effectiveHex = fields.get('CapEff');
  const effective = parseCapabilityMask(effectiveHex);
  if (effective === undefined) return unknown('/proc/self/status has no readable CapEff');
  const held = capabilityNames(effective);
  const risky = held.filter((name) => capabilitySeverity(name) !== 'info');
  const evidence: string[] = [];
  let severity: PostureSeverity = 'info';
  // user_namespaces(7): capabilities held in a user namespace act on the resources it owns only; with no UID in it
  // mapped to host root they cannot open a host file or load a module, but still widen the kernel's attack surface
  const userns = readUserNamespace(inputs.view);
  const namespaced = userns.kind === 'unprivileged';
  if (risky.length > 0) {
    for (const name of risky) severity = maxSeverity(severity, capabilitySeverity(name));
    if (namespaced && atLeast(severity, 'high')) severity = 'medium';
    const all = held.length >= KNOWN_CAPABILITY_COUNT - 1;
    evidence.push(
      `CapEff ${effectiveHex}: ${all ? `${held.length} capabilities (nearly all: a privileged container?)` : `${risky.length} beyond NET_BIND_SERVICE`}: ${risky.join(', ')}`,
    );
    // an unreadable uid_map is rated as the host's namespace (fail closed)
    const context = namespaced ? 'held in a user namespace without host root' : 'rated as host capabilities';
    evidence.push(`${context}: ${userns.evidence}`);
  } else {
    evidence.push(`CapEff ${effectiveHex}: ${held.length === 0 ? 'none' : held.join(', ')}`);
  }
  const ambient = parseCapabilityMask(fields.get('CapAmb'));
  if (ambient !== undefined && ambient !== 0n) {
    evidence.push(`CapAmb ${fields.get('CapAmb')}: ${capabilityNames(ambient).join(', ')} (kept across execve)`);
  }
  const bounding = parseCapabilityMask(fields.get('CapBnd'));
  const noNewPrivs = fields.get('NoNewPrivs') === '1';
  if (risky.length === 0 && bounding !== undefined && !noNewPrivs) {
    // without no_new_privs a setuid binary can raise CapEff up to the bounding set (capabilities(7))
    const regainable = capabilityNames(bounding).filter((name) => capabilitySeverity(name) === 'critical');
    if (regainable.length > 0) {
      evidence.push(`CapBnd keeps ${regainable.join(', ')} and no_new_privs is off: a setuid binary can regain them`);
      return finding('medium', evidence);
    }
  }
  return severity === 'info' ? ok(...evidence) : finding(severity, evidence);
}

/**
 * `NoNewPrivs: 1` (Linux ≥ 4.10 reports it in status).
 */
export function checkNoNewPrivs(inputs: AuditInputs): Outcome {
  if (!inputs.status.ok) return unknown(cannotRead('/proc/self/status', inputs.status.error));
  const value = inputs.status.fields.get('NoNewPrivs');
  if (value === '1') return ok('NoNewPrivs: 1');
  if (value === '0') return finding('medium', ['NoNewPrivs: 0']);
  return unknown('/proc/self/status has no NoNewPrivs field (kernel older than 4.10?)');
}

/**
 * `Seccomp: 1` (strict) or `2` (filter).
 */
export function checkSeccomp(inputs: AuditInputs): Outcome {
  if (!inputs.status.ok) return unknown(cannotRead('/proc/self/status', inputs.status.error));
  const mode = inputs.status.fields.get('Seccomp');
  const filters = inputs.status.fields.get('Seccomp_filters');
  if (mode === '2') return ok(`Seccomp: 2 (filter${filters === undefined ? '' : `, ${filters} filter(s)`})`);
  if (mode === '1') return ok('Seccomp: 1 (strict)');
  if (mode === '0') return finding('medium', ['Seccomp: 0 (no filter)']);
  return unknown('/proc/self/status has no Seccomp field (kernel built without CONFIG_SECCOMP?)');
}

/** SELinux types that mean "not confined" (unconfined, super-privileged container, kernel, init). */
const UNCONFINED_SELINUX_TYPES = new Set(['unconfined_t', 'spc_t', 'kernel_t', 'initrc_t', 'unconfined_service_t']);

function interpretLabel(label: string, source: string, inputs: AuditInputs): Outcome {
  if (label === 'unconfined') return finding('low', [`${source}: unconfined`]);
  // AppArmor labels read "profile (mode)"; complain mode only logs
  const apparmor = /^(.+) \((enforce|complain|kill|unconfined|audit)\)$/.exec(label);
  if (apparmor !== null) {
    return apparmor[2] === 'complain' || apparmor[2] === 'unconfined'
      ? finding('low', [`${source}: AppArmor ${label} (does not block)`])
      : ok(`${source}: AppArmor ${label}`);
  }
  const selinuxType = label.split(':')[2];
  if (selinuxType !== undefined) {
    if (UNCONFINED_SELINUX_TYPES.has(selinuxType)) return finding('low', [`${source}: SELinux ${label}`]);
    const enforce = inputs.view.readText('/sys/fs/selinux/enforce');
    if (enforce.ok && enforce.text.trim() === '0') {
      return finding('low', [`${source}: SELinux ${label}`, '/sys/fs/selinux/enforce: 0 (permissive: logs only)']);
    }
    return ok(`${source}: SELinux ${label}`);
  }
  return ok(`${source}: ${label}`);
}

/**
 * AppArmor or SELinux label of the process, where the kernel exposes one.
 */
export function checkLsm(inputs: AuditInputs): Outcome {
  const sources = ['/proc/self/attr/apparmor/current', '/proc/self/attr/current'];
  const errors: string[] = [];
  let currentError: string | undefined;
  for (const source of sources) {
    const read = inputs.view.readText(source);
    if (read.ok) {
      // the kernel terminates the label with a newline or NUL
      const label = read.text.replace(/[\0\n]+$/, '').trim();
      if (label !== '') return interpretLabel(label, source, inputs);
      errors.push(`${source}: empty`);
    } else {
      errors.push(cannotRead(source, read.error));
      if (source === '/proc/self/attr/current') currentError = read.error;
    }
  }
  // EINVAL from attr/current: an LSM interface exists but no AppArmor or SELinux labels this process
  if (currentError === 'EINVAL') {
    return finding('low', ['no AppArmor or SELinux label: /proc/self/attr/current answers EINVAL']);
  }
  return unknown(...errors);
}
