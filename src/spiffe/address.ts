/**
 * The Workload API endpoint address, per SPIFFE Workload Endpoint §4: `unix:///absolute/path` or `tcp://IP:port`,
 * from configuration, else the `SPIFFE_ENDPOINT_SOCKET` environment variable.
 *
 * @module spiffe/address
 */
import { isIP } from 'node:net';
import { InvalidOptionError } from '../errors.js';

/** The environment variable SPIFFE Workload Endpoint §4 names for the default address. */
export const SOCKET_ENV = 'SPIFFE_ENDPOINT_SOCKET';

/**
 * The gRPC target for a Workload API address. `option` names the source in errors. Refuses anything but an
 * absolute Unix socket path or a literal IP with a port (SPIFFE Workload Endpoint §4: DNS names are not allowed).
 */
export function workloadApiTarget(address: string, option: string): string {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new InvalidOptionError(option, 'must be a URI: unix:///path/to/agent.sock or tcp://127.0.0.1:8081');
  }
  // Workload Endpoint §4: no user info, query or fragment in either form
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new InvalidOptionError(option, 'must not have user info, a query or a fragment');
  }
  if (url.protocol === 'unix:') {
    // unix://host/path would put the first path segment in the host: the path must be absolute, after "unix://"
    if (url.host !== '' || url.pathname === '' || url.pathname === '/' || !address.startsWith('unix:///')) {
      throw new InvalidOptionError(option, 'must name an absolute socket path: unix:///run/spire/agent.sock');
    }
    return `unix://${decodeURIComponent(url.pathname)}`;
  }
  if (url.protocol === 'tcp:') {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    // Workload Endpoint §4: "tcp://" takes an IP address, never a name to resolve
    const family = isIP(host);
    if (family === 0 || url.port === '' || (url.pathname !== '' && url.pathname !== '/')) {
      throw new InvalidOptionError(
        option,
        'must be tcp://<IP address>:<port> with no path (DNS names are not allowed)',
      );
    }
    return family === 4 ? `ipv4:${host}:${url.port}` : `ipv6:[${host}]:${url.port}`;
  }
  throw new InvalidOptionError(option, 'must use the "unix" or "tcp" scheme');
}

/** The target from `address`, else from `SPIFFE_ENDPOINT_SOCKET`; one of them is required. */
export function resolveWorkloadApiTarget(address: string | undefined, option: string): string {
  if (address !== undefined) return workloadApiTarget(address, option);
  const fromEnv = process.env[SOCKET_ENV];
  if (fromEnv === undefined || fromEnv === '') {
    throw new InvalidOptionError(
      option,
      `is required when ${SOCKET_ENV} is not set: give the agent socket, e.g. unix:///run/spire/agent.sock`,
    );
  }
  return workloadApiTarget(fromEnv, SOCKET_ENV);
}
