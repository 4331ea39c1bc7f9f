/**
 * Whether this Node process runs under Node's permission model, and what it allows: read from
 * `process.permission.has(…)` (the authority) and from the flags in `process.execArgv` and `NODE_OPTIONS` (the only
 * place the granted file-system paths can be read back).
 *
 * @module permission
 */
import { statSync } from 'node:fs';
import { probing } from './async-scope.js';

/**
 * `off`: no permission model; `enforce`: a refused operation throws `ERR_ACCESS_DENIED`; `audit`: refused
 * operations are only published on `node:permission-model:*` diagnostics channels and then carried out.
 *
 * @example
 * ```ts
 * import { type PermissionMode, readPermissionModel } from 'koa-mtls';
 *
 * const mode: PermissionMode = readPermissionModel().mode;
 * ```
 */
export type PermissionMode = 'off' | 'enforce' | 'audit';

/**
 * What the permission model of this process allows.
 *
 * @example
 * ```ts
 * import { type PermissionModelState, readPermissionModel } from 'koa-mtls';
 *
 * const state: PermissionModelState = readPermissionModel();
 * if (state.mode === 'enforce' && !state.childProcess) console.log('no route can spawn a process');
 * ```
 */
export interface PermissionModelState {
  readonly mode: PermissionMode;
  /** The flags that turned it on, and where they were given (`execArgv` or `NODE_OPTIONS`). */
  readonly flags: readonly string[];
  /** `--allow-fs-read` paths (`*`: every path). Empty when nothing is granted. */
  readonly fsRead: readonly string[];
  /** `--allow-fs-write` paths (`*`: every path). */
  readonly fsWrite: readonly string[];
  readonly childProcess: boolean;
  readonly worker: boolean;
  readonly addons: boolean;
  readonly wasi: boolean;
  /** The Node version read, e.g. `v24.22.3`. */
  readonly nodeVersion: string;
}

/**
 * What {@link readPermissionModel} reads; the default is the running process.
 *
 * @example
 * ```ts
 * import { type PermissionProcess, readPermissionModel } from 'koa-mtls';
 *
 * const stat = () => { throw Object.assign(new Error('denied'), { code: 'ERR_ACCESS_DENIED' }); };
 * const enforcing: PermissionProcess = { execArgv: ['--permission'], env: {}, version: 'v22.23.5', permission: { has: () => false }, stat };
 * readPermissionModel(enforcing).mode; // 'enforce'
 * ```
 */
export interface PermissionProcess {
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly version: string;
  readonly permission: { has(scope: string, reference?: string): boolean } | undefined;
  /** `fs.statSync`: one refused read tells enforce mode (it throws `ERR_ACCESS_DENIED`) from audit mode. */
  readonly stat: (path: string) => unknown;
}

const MODEL_FLAGS = new Set(['--permission', '--experimental-permission', '--permission-audit']);

/** Splits NODE_OPTIONS as Node does: on spaces, with double quotes around values that contain them. */
function splitNodeOptions(value: string): string[] {
  const tokens: string[] = [];
  for (const match of value.matchAll(/(?:[^\s"]+|"(?:\\.|[^"\\])*")+/g)) {
    tokens.push(match[0].replace(/"((?:\\.|[^"\\])*)"/g, (_quoted, inner: string) => inner.replace(/\\(.)/g, '$1')));
  }
  return tokens;
}

/** `--name=value` and `--name value` values of `name`, in order. */
function flagValues(args: readonly string[], name: string): string[] {
  const values: string[] = [];
  args.forEach((arg, index) => {
    if (arg.startsWith(`${name}=`)) values.push(arg.slice(name.length + 1));
    else if (arg === name && args[index + 1] !== undefined) values.push(args[index + 1] as string);
  });
  return values;
}

function nodeMajor(version: string): number {
  return Number.parseInt(version.replace(/^v/, ''), 10);
}

/**
 * Whether refusals are enforced. Flags alone do not say: Node 24.22 runs `--permission --permission-audit` in audit
 * mode although its documentation gives `--permission` precedence. So one read that the model refuses is tried:
 * `ERR_ACCESS_DENIED` means enforced. It runs in the probe context, so the violation it publishes is not reported.
 */
function probeEnforced(
  proc: PermissionProcess,
  permission: NonNullable<PermissionProcess['permission']>,
): boolean | undefined {
  const candidate = ['/', '/proc/self/status', '/etc/hostname'].find((path) => !permission.has('fs.read', path));
  if (candidate === undefined) return undefined;
  try {
    proc.stat(candidate);
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === 'ERR_ACCESS_DENIED';
  }
}

/**
 * Reads the permission model of `proc` (default: this process). `has()` is called for each scope; on Node 24 each
 * refused `has()` is published on the diagnostics channel, so these calls run in a probe context that
 * {@link permissionAudit} ignores.
 *
 * @example
 * ```ts
 * import { readPermissionModel } from 'koa-mtls';
 * const { mode, childProcess, fsRead } = readPermissionModel();
 * ```
 */
export function readPermissionModel(proc: PermissionProcess = currentProcess()): PermissionModelState {
  const nodeOptions = splitNodeOptions(proc.env.NODE_OPTIONS ?? '');
  const args = [...proc.execArgv, ...nodeOptions];
  const flags = [
    ...proc.execArgv.filter((arg) => MODEL_FLAGS.has(arg)).map((arg) => `${arg} (command line)`),
    ...nodeOptions.filter((arg) => MODEL_FLAGS.has(arg)).map((arg) => `${arg} (NODE_OPTIONS)`),
  ];
  // Node 20 splits one --allow-fs-* value on commas; 22 and later take one path per flag
  const split = (values: string[]): string[] =>
    nodeMajor(proc.version) <= 20 ? values.flatMap((value) => value.split(',')) : values;
  const fsRead = split(flagValues(args, '--allow-fs-read'));
  const fsWrite = split(flagValues(args, '--allow-fs-write'));
  const permission = proc.permission;
  const base = { flags, fsRead, fsWrite, nodeVersion: proc.version };
  if (permission === undefined) {
    return { mode: 'off', ...base, childProcess: true, worker: true, addons: true, wasi: true };
  }
  return probing(() => {
    const enforced = probeEnforced(proc, permission) ?? !args.includes('--permission-audit');
    return {
      mode: enforced ? 'enforce' : 'audit',
      ...base,
      childProcess: permission.has('child'),
      worker: permission.has('worker'),
      addons: permission.has('addon'),
      wasi: permission.has('wasi'),
    };
  });
}

function currentProcess(): PermissionProcess {
  const permission = (process as { permission?: PermissionProcess['permission'] }).permission;
  return { execArgv: process.execArgv, env: process.env, version: process.version, permission, stat: statSync };
}
