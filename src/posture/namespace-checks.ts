/**
 * Checks for the host's PID and network namespaces, from `/proc/self/ns/*`, `/proc/2/comm` and `/proc/self/net/dev`.
 */
import { type AuditInputs, cannotRead, finding, type Outcome, ok, unknown } from './inputs.js';

/** The inode of the initial PID namespace is fixed (`PROC_PID_INIT_INO`, include/linux/proc_ns.h). */
export const INITIAL_PID_NAMESPACE = 'pid:[4026531836]';

/**
 * Interfaces that exist only in a host's network namespace: container bridges, CNI plugins, the host end of veth
 * pairs (a container's own end is renamed eth0).
 */
const HOST_INTERFACE_PATTERNS: readonly RegExp[] = [
  /^docker\d+$/,
  /^br-[0-9a-f]+$/,
  /^veth/,
  /^cni\d*$/,
  /^cbr0$/,
  /^cni-podman\d+$/,
  /^podman\d+$/,
  /^flannel\./,
  /^cali[0-9a-f]/,
  /^vxlan\.calico$/,
  /^cilium_/,
  /^lxc[0-9a-f]{4,}/,
  /^kube-ipvs0$/,
  /^kube-bridge$/,
  /^weave$/,
  /^virbr\d+$/,
  /^lxcbr\d+$/,
  /^nodelocaldns$/,
];

/**
 * The PID namespace is not the host's.
 */
export function checkHostPidNamespace(inputs: AuditInputs): Outcome {
  const signs: string[] = [];
  const unreadable: string[] = [];
  const pidNamespace = inputs.view.readLink('/proc/self/ns/pid');
  if (pidNamespace.ok) {
    if (pidNamespace.text === INITIAL_PID_NAMESPACE)
      signs.push(`/proc/self/ns/pid is ${pidNamespace.text}, the initial PID namespace`);
  } else {
    unreadable.push(cannotRead('/proc/self/ns/pid', pidNamespace.error));
  }
  const pid2 = inputs.view.readText('/proc/2/comm');
  if (pid2.ok) {
    // kernel threads are visible only from the initial PID namespace; kthreadd is always PID 2
    if (pid2.text.trim() === 'kthreadd') signs.push('/proc/2 is kthreadd: kernel threads are visible');
  } else if (pid2.error !== 'ENOENT') {
    unreadable.push(cannotRead('/proc/2/comm', pid2.error));
  }
  if (signs.length > 0) {
    const pid1Root = inputs.view.canRead('/proc/1/root/');
    const self = inputs.view.readLink('/proc/self');
    if (pid1Root === 'yes' && !(self.ok && self.text === '1')) {
      signs.push('/proc/1/root/ (the host filesystem through PID 1) is readable by this process');
      return finding('critical', signs);
    }
    return finding('high', signs);
  }
  // both signs needed reading: with either unreadable we cannot rule the host namespace out
  if (!pidNamespace.ok || unreadable.length > 0) return unknown(...unreadable);
  return ok(`/proc/self/ns/pid is ${pidNamespace.text}; kernel threads are not visible`);
}

/**
 * The network namespace is not the host's.
 */
export function checkHostNetworkNamespace(inputs: AuditInputs): Outcome {
  const signs: string[] = [];
  const unreadable: string[] = [];
  const pidNamespace = inputs.view.readLink('/proc/self/ns/pid');
  const self = inputs.view.readLink('/proc/self');
  // with the host PID namespace (or one we cannot name), PID 1 may be the host's init: compare network namespaces
  const pid1MayBeHost = !pidNamespace.ok || pidNamespace.text === INITIAL_PID_NAMESPACE;
  if (pid1MayBeHost && !(self.ok && self.text === '1')) {
    const selfNet = inputs.view.readLink('/proc/self/ns/net');
    // reading another process's ns links needs ptrace access (proc(5)): EACCES here hides the answer, never "ok"
    const initNet = inputs.view.readLink('/proc/1/ns/net');
    if (!selfNet.ok) unreadable.push(cannotRead('/proc/self/ns/net', selfNet.error));
    if (!initNet.ok) unreadable.push(cannotRead('/proc/1/ns/net', initNet.error));
    if (selfNet.ok && initNet.ok && selfNet.text === initNet.text) {
      signs.push(`/proc/self/ns/net equals the host init's (${selfNet.text})`);
    }
  }
  const netDev = inputs.view.readText('/proc/self/net/dev');
  let interfaces: string[] = [];
  if (netDev.ok) {
    // net/dev: two header lines, then "name: counters"
    interfaces = netDev.text
      .split('\n')
      .slice(2)
      .map((line) => line.split(':')[0]?.trim() ?? '')
      .filter((name) => name !== '');
    const hostOnly = interfaces.filter((name) => HOST_INTERFACE_PATTERNS.some((pattern) => pattern.test(name)));
    if (hostOnly.length > 0) signs.push(`host interfaces visible: ${hostOnly.join(', ')}`);
  } else {
    unreadable.push(cannotRead('/proc/self/net/dev', netDev.error));
  }
  if (signs.length > 0) return finding('high', signs);
  if (unreadable.length > 0) return unknown(...unreadable);
  return ok(`interfaces: ${interfaces.join(', ') || 'none'} (no bridge, CNI or veth interface)`);
}
