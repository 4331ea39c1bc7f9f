import { describe, expect, it } from 'vitest';
import { hostPathExposure } from '../../src/host-paths/host-paths.js';

describe('hostPathExposure: the one host-path rule of createSandbox and auditContainer', () => {
  it.each([
    ['/', "the host's whole filesystem"],
    ['//', "the host's whole filesystem"],
    ['/etc', "the host's configuration (shadow, keys)"],
    ['/etc/', "the host's configuration (shadow, keys)"],
    ['/etc/.', "the host's configuration (shadow, keys)"],
    ['/run', 'runtime sockets and state'],
    ['/var/run', 'runtime sockets and state'],
    ['/root', "the root user's home"],
    ['/proc', 'procfs (other processes, /proc/<pid>/root)'],
    ['/proc/1/root', 'procfs (other processes, /proc/<pid>/root)'],
    ['/sys/fs/cgroup', 'sysfs (kernel and device interfaces)'],
    ['/dev/shm', 'device nodes'],
    ['/boot/efi', 'kernel and boot files'],
    ['/srv/../etc', "the host's configuration (shadow, keys)"],
  ])('refuses %s', (path, what) => {
    expect(hostPathExposure(path)).toBe(what);
  });

  // where Kubernetes and Docker put a service's own secrets; docs/sandbox.md recommends /etc/tls
  it.each([
    ['/etc/tls'],
    ['/run/secrets/kubernetes.io/serviceaccount'],
    ['/var/run/secrets/app'],
    ['/srv/files'],
    ['/procfs'],
    ['/devices'],
    ['/rooted'],
  ])('accepts %s', (path) => {
    expect(hostPathExposure(path)).toBeUndefined();
  });
});
