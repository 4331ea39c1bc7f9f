/**
 * Linux capabilities: decoding the `CapEff`/`CapBnd` masks of `/proc/<pid>/status` and rating each capability by
 * what it gives a compromised process (capabilities(7), `include/uapi/linux/capability.h`).
 */
import type { PostureSeverity } from './types.js';

/** Capability names by bit number (capability.h; 0–40 as of Linux 5.9). */
const CAPABILITY_NAMES: readonly string[] = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
];

/** Capabilities an HTTP service may keep: binding a port below 1024 gives nothing beyond the network it has. */
const HARMLESS = new Set(['NET_BIND_SERVICE']);

/** Capabilities that reach the host or other workloads directly (load modules, mount, read any file, trace any process). */
const CRITICAL = new Set([
  'SYS_ADMIN',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_PTRACE',
  'DAC_READ_SEARCH',
  'BPF',
  'MAC_ADMIN',
  'MAC_OVERRIDE',
  'SYS_BOOT',
]);

/** Capabilities that bypass file permissions, reconfigure the network or change identity. */
const HIGH = new Set([
  'DAC_OVERRIDE',
  'NET_ADMIN',
  'SETUID',
  'SETGID',
  'FOWNER',
  'CHOWN',
  'SETFCAP',
  'SETPCAP',
  'PERFMON',
  'SYSLOG',
  'SYS_TIME',
  'AUDIT_CONTROL',
  'LINUX_IMMUTABLE',
  'CHECKPOINT_RESTORE',
  'MKNOD',
]);

/**
 * Parses a hexadecimal capability mask (`000001fffeffffff`), or `undefined` when it is not one.
 */
export function parseCapabilityMask(hex: string | undefined): bigint | undefined {
  // a mask is at most 64 bits of hex; anything else is not a mask we understand
  if (hex === undefined || !/^[0-9a-fA-F]{1,16}$/.test(hex)) return undefined;
  return BigInt(`0x${hex}`);
}

/**
 * The names of the capabilities set in `mask` (unknown bits as `CAP_<n>`).
 */
export function capabilityNames(mask: bigint): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit += 1) {
    if ((mask >> BigInt(bit)) & 1n) names.push(CAPABILITY_NAMES[bit] ?? `CAP_${bit}`);
  }
  return names;
}

/**
 * The severity of holding one capability.
 */
export function capabilitySeverity(name: string): PostureSeverity {
  if (HARMLESS.has(name)) return 'info';
  if (CRITICAL.has(name)) return 'critical';
  if (HIGH.has(name)) return 'high';
  // a capability newer than this table is treated as high: unknown power is not harmless
  if (name.startsWith('CAP_')) return 'high';
  return 'medium';
}

/**
 * The number of capabilities the running kernel knows (`CAP_LAST_CAP` + 1), given the table above.
 */
export const KNOWN_CAPABILITY_COUNT = CAPABILITY_NAMES.length;
