/**
 * The least-privilege `node` command line for a koa-mtls service under Node's permission model: its code, its
 * certificates and its sandbox roots are the only readable paths, nothing is writable unless asked, and no child
 * process, worker, addon or WASI instance may start unless asked.
 *
 * @module permission
 */
import { isAbsolute } from 'node:path';
import { InvalidOptionError } from '../errors.js';

/**
 * What the service needs.
 *
 * @example
 * ```ts
 * import { type LaunchLineOptions, leastPrivilegeLaunchLine } from 'koa-mtls';
 *
 * const options: LaunchLineOptions = { entry: '/app/dist/server.js', code: '/app', certs: ['/etc/tls'], sandboxRoots: ['/srv/files'] };
 * console.log(leastPrivilegeLaunchLine(options).line);
 * ```
 */
export interface LaunchLineOptions {
  /** The script node runs, e.g. `/app/dist/server.js`. */
  readonly entry: string;
  /** The directory holding the code and its `node_modules` (read-only). */
  readonly code: string;
  /** Certificate, key and CA files or their directory (read-only), if any. */
  readonly certs?: readonly string[];
  /** The `createSandbox` roots the service serves (read-only). */
  readonly sandboxRoots?: readonly string[];
  /** Directories the service writes (e.g. an upload root). Default none. */
  readonly writable?: readonly string[];
  /** Add `--allow-child-process`. Default `false`. */
  readonly allowChildProcess?: boolean;
  /** The Node major version the line is for (20 uses `--experimental-permission`). Default: this process's. */
  readonly nodeMajor?: number;
}

/**
 * What `createSandbox` itself opens: `/proc/self/fd/<dirfd>/<name>` is how it walks a path one component at a time
 * (Node has no openat), and `/proc/self/mountinfo` is its mount table (`mounts` option). Granting `/proc/self/fd`
 * lets code read through any descriptor the process holds open: the sandbox's roots and files, nothing it did not
 * open. (Not `/proc/self/fdinfo`: see {@link prefixClashes}.)
 */
const SANDBOX_NEEDS = ['/proc/self/fd', '/proc/self/mountinfo'];

/**
 * Pairs of grants where one is a string prefix of the other without being its parent directory (`/srv/a` and
 * `/srv/ab`, `/proc/self/fd` and `/proc/self/fdinfo`): Node 20.20, 22.23 and 24.22 then refuse the shorter
 * directory itself (its `stat` throws ERR_ACCESS_DENIED) while allowing what is below it.
 */
function prefixClashes(paths: readonly string[]): string[] {
  const clashes: string[] = [];
  for (const a of paths) {
    for (const b of paths) {
      if (a !== b && b.startsWith(a) && !b.startsWith(`${a}/`)) clashes.push(`${a} and ${b}`);
    }
  }
  return clashes;
}

function checkPaths(paths: readonly string[], option: string): void {
  paths.forEach((path, index) => {
    if (!isAbsolute(path) || path.includes('\0')) {
      throw new InvalidOptionError(`leastPrivilegeLaunchLine.${option}[${index}]`, 'must be an absolute path');
    }
  });
}

/** POSIX shell quoting: a word of safe characters as is, anything else in single quotes. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The argument vector (`argv[0]` is `node`), the same as one shell-quoted line, and warnings about grants Node
 * mishandles.
 *
 * @example
 * ```ts
 * import { leastPrivilegeLaunchLine } from 'koa-mtls';
 * leastPrivilegeLaunchLine({ entry: '/app/server.js', code: '/app', certs: ['/etc/tls'], sandboxRoots: ['/srv/files'] }).line;
 * // node --permission --allow-fs-read=/app --allow-fs-read=/etc/tls --allow-fs-read=/srv/files
 * //   --allow-fs-read=/proc/self/fd --allow-fs-read=/proc/self/mountinfo /app/server.js
 * ```
 */
export function leastPrivilegeLaunchLine(options: LaunchLineOptions): {
  readonly argv: string[];
  readonly line: string;
  readonly warnings: string[];
} {
  const certs = options.certs ?? [];
  const roots = options.sandboxRoots ?? [];
  const writable = options.writable ?? [];
  checkPaths([options.entry], 'entry');
  checkPaths([options.code], 'code');
  checkPaths(certs, 'certs');
  checkPaths(roots, 'sandboxRoots');
  checkPaths(writable, 'writable');
  const major = options.nodeMajor ?? Number.parseInt(process.versions.node, 10);
  // --permission is stable since 22.13.0 / 23.5.0; Node 20 only knows the experimental flag
  const flag = major <= 20 ? '--experimental-permission' : '--permission';
  const reads = [...new Set([options.code, ...certs, ...roots, ...(roots.length > 0 ? SANDBOX_NEEDS : [])])];
  const writes = [...new Set([...writable, ...(writable.length > 0 && roots.length > 0 ? ['/proc/self/fd'] : [])])];
  const argv = [
    'node',
    flag,
    ...reads.map((path) => `--allow-fs-read=${path}`),
    ...writes.map((path) => `--allow-fs-write=${path}`),
    ...(options.allowChildProcess === true ? ['--allow-child-process'] : []),
    options.entry,
  ];
  const warnings = [...prefixClashes(reads), ...prefixClashes(writes)].map(
    (pair) =>
      `grants ${pair}: Node refuses the shorter directory itself when one grant is a string prefix of another; rename one`,
  );
  return { argv, line: argv.map(shellWord).join(' '), warnings };
}
