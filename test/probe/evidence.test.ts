/**
 * The leak decision: host content by local marker or signature, a host path in an error; never an echo of the probe
 * itself, never a status code.
 */
import { describe, expect, it } from 'vitest';
import { createDetector } from '../../src/probe/evidence.js';
import { HOST_TARGETS } from '../../src/probe/payloads.js';

const token = HOST_TARGETS.find((target) => target.id === 'service-account-token');
const jwt = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLWJ5dGVz';

describe('createDetector, remote service (signatures only)', async () => {
  const detector = await createDetector({ local: false });

  it.each([
    ['passwd', 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n', 'signature:passwd'],
    ['passwd without a password field', 'root::0:0::/root:/bin/sh', 'signature:passwd'],
    ['hosts', '# comment\n127.0.0.1\tlocalhost\n::1 ip6-localhost\n', 'signature:hosts'],
    ['hosts (IPv6 first)', '::1 localhost ip6-localhost\n', 'signature:hosts'],
    ['environ, raw', 'PATH=/usr/bin\0HOME=/root\0', 'signature:environ'],
    [
      'environ, JSON-encoded by the handler',
      '{"data":"PATH=/usr/bin\\u0000HOSTNAME=api-7f\\u0000"}',
      'signature:environ',
    ],
  ])('finds %s', (_, body, marker) => {
    expect(detector.inspect(body)).toMatchObject({ kind: 'host-content', marker });
  });

  it('finds an fs error that names an absolute path, as a host-path error', () => {
    const evidence = detector.inspect("ENOENT: no such file or directory, open '/srv/app/files/x'");
    expect(evidence).toEqual({
      kind: 'host-path-error',
      marker: 'signature:fs-error',
      excerpt: "ENOENT: no such file or directory, open '/srv/app/files/x'",
    });
  });

  it('takes a JWT for a service-account token only from a probe aimed at the token', () => {
    expect(detector.inspect(jwt)).toBeUndefined();
    expect(detector.inspect(jwt, token)).toMatchObject({ marker: 'signature:service-account-token' });
  });

  it.each([
    ['an echo of the probe', '{"error":"not found: ../../../../etc/passwd"}'],
    ['an echo of an absolute target', 'no such report: /etc/hosts'],
    ['a sandbox denial', '{"code":"ERR_SANDBOX_NOT_FOUND","message":"Not Found"}'],
    ['a relative path in an error', "ENOENT: no such file or directory, open 'files/x'"],
    ['a user named root elsewhere', 'root:admin:1000:1000'],
    ['a single assignment', 'PATH=/usr/bin'],
    ['an empty body', ''],
  ])('finds nothing in %s', (_, body) => {
    expect(detector.inspect(body)).toBeUndefined();
  });

  it('escapes control characters and truncates long evidence', () => {
    const evidence = detector.inspect(`root:x:0:0:\u001b[31m${'a'.repeat(200)}`);
    expect(evidence?.excerpt).toMatch(/^root:x:0:0:\\u001b\[31ma+…$/);
    expect(evidence?.excerpt.length).toBeLessThan(110);
  });
});

describe('createDetector, local service (markers from this machine)', async () => {
  const files: Record<string, string> = {
    '/etc/hostname': 'vm\n',
    '/etc/hosts': '10.0.0.7 build-host.internal build-host\n',
  };
  const detector = await createDetector({
    local: true,
    read: async (path) => {
      const content = files[path];
      if (content === undefined) throw new Error('ENOENT');
      return content;
    },
  });

  it('matches a long local file anywhere in the body', () => {
    expect(detector.inspect('<pre>10.0.0.7 build-host.internal build-host</pre>')).toMatchObject({
      kind: 'host-content',
      marker: 'local:/etc/hosts',
    });
  });

  it('matches a short local file (a hostname) only as the whole body', () => {
    expect(detector.inspect('vm\n')).toMatchObject({ marker: 'local:/etc/hostname', excerpt: 'vm' });
    expect(detector.inspect('the vm is up')).toBeUndefined();
  });
});
