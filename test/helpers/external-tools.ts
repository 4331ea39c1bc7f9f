/**
 * External programs some suites drive (real proxies, scanners, clients). `npm test` must pass on a machine that has
 * only Node and npm: a suite whose program is missing prints one line naming it and the install command, and is
 * skipped. With `CI` set (as CI systems and `.ci/run` do), a missing program is a failing test instead, so CI can
 * never pass by skipping.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

/** The Debian package that provides each command the suites use. */
const DEBIAN_PACKAGE: Readonly<Record<string, string>> = {
  caddy: 'caddy',
  certutil: 'libnss3-tools',
  chromium: 'chromium',
  curl: 'curl',
  haproxy: 'haproxy',
  nginx: 'nginx',
  openssl: 'openssl',
  pk12util: 'libnss3-tools',
  prlimit: 'util-linux',
  setpriv: 'util-linux',
  sslscan: 'sslscan',
  testssl: 'testssl.sh',
  'testssl.sh': 'testssl.sh',
  unshare: 'util-linux',
};

/** Whether an executable `command` is in one of the PATH directories. */
export function hasProgram(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether this run is CI (`CI` set to anything but an empty string, `0` or `false`). */
export function isCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** A condition a suite needs besides its programs (root, a kernel feature), checked only when they are installed. */
export interface Requirement {
  /** What is missing when `met()` is false, as the skip line says it (`root for unshare -m`). */
  readonly what: string;
  readonly met: () => boolean;
}

/** Throw-away mount namespaces (`unshare -m`), which need root or CAP_SYS_ADMIN. */
export const MOUNT_NAMESPACES: Requirement = {
  what: 'throw-away mount namespaces (unshare -m needs root)',
  met: () => spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status === 0,
};

/**
 * Whether every one of `commands` is installed (and `requirement`, if given, is met). When one is missing, prints one
 * line (`skipped: <suite> needs … (install: apt-get install …)`) and returns false, so the caller skips the suite; in
 * CI it registers a failing test with that line instead. Each entry may list alternatives (`'testssl|testssl.sh'`):
 * any one of them counts.
 */
export function externalTools(suite: string, commands: readonly string[], requirement?: Requirement): boolean {
  const missing = commands.filter((entry) => !entry.split('|').some(hasProgram));
  if (missing.length === 0) {
    if (requirement === undefined || requirement.met()) return true;
    return unavailable(suite, `has ${requirement.what}`, `${suite} needs ${requirement.what}`);
  }
  const names = missing.map((entry) => entry.split('|')[0] ?? entry);
  const packages = [...new Set(names.map((name) => DEBIAN_PACKAGE[name] ?? name))];
  return unavailable(
    suite,
    `has ${names.join(', ')} installed`,
    `${suite} needs ${names.join(', ')} (install: apt-get install ${packages.join(' ')})`,
  );
}

/** Skips with one line, or in CI registers a test that fails with it; returns false either way. */
function unavailable(suite: string, title: string, line: string): false {
  if (isCi()) {
    describe(suite, () => {
      it(title, () => {
        throw new Error(`CI is set, so a suite that cannot run fails instead of skipping: ${line}`);
      });
    });
  } else {
    console.warn(`skipped: ${line}`);
  }
  return false;
}
