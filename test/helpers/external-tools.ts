/**
 * External programs some suites drive (real proxies, scanners, clients). `npm test` must pass on a machine that has
 * only Node and npm: a suite whose program is missing prints one line naming it and the install command, and is
 * skipped. With `CI` set (as CI systems and `.ci/run` do), a missing program is a failing test instead, so CI can
 * never pass by skipping.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

/** The Debian package that provides each command the suites use. */
const DEBIAN_PACKAGE: Readonly<Record<string, string>> = {
  caddy: 'caddy',
  chromium: 'chromium',
  curl: 'curl',
  haproxy: 'haproxy',
  nginx: 'nginx',
  openssl: 'openssl',
  pk12util: 'libnss3-tools',
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

/**
 * Whether every one of `commands` is installed. When one is missing, prints one line (`skipped: <suite> needs …
 * (install: apt-get install …)`) and returns false, so the caller skips the suite; in CI it registers a failing
 * test with that line instead. Each entry may list alternatives (`'testssl|testssl.sh'`): any one of them counts.
 */
export function externalTools(suite: string, commands: readonly string[]): boolean {
  const missing = commands.filter((entry) => !entry.split('|').some(hasProgram));
  if (missing.length === 0) return true;
  const names = missing.map((entry) => entry.split('|')[0] ?? entry);
  const packages = [...new Set(names.map((name) => DEBIAN_PACKAGE[name] ?? name))];
  const line = `${suite} needs ${names.join(', ')} (install: apt-get install ${packages.join(' ')})`;
  if (isCi()) {
    describe(suite, () => {
      it(`has ${names.join(', ')} installed`, () => {
        throw new Error(`CI is set, so a missing program fails instead of skipping: ${line}`);
      });
    });
  } else {
    console.warn(`skipped: ${line}`);
  }
  return false;
}
