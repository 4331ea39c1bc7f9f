/**
 * Checks of Node's permission model in the running process: on or off, enforcing or only auditing, and what it
 * allows. The model is a property of this Node process, not of the container, so these checks run only when the
 * live system is audited (`root` is `/`).
 */
import type { PermissionModelState } from '../permission/permission-state.js';
import { finding, type Outcome, ok } from './inputs.js';
import type { PostureCheckId } from './types.js';

function granted(paths: readonly string[]): string {
  return paths.length === 0 ? 'nothing' : paths.join(', ');
}

// '*' is Node's "every path"; '/' grants the same tree
const everything = (paths: readonly string[]): boolean => paths.some((path) => path === '*' || path === '/');

/**
 * The model is on and enforcing.
 */
export function checkPermissionModel(state: PermissionModelState): Outcome {
  const flags = state.flags.length === 0 ? 'no permission flag' : state.flags.join(', ');
  if (state.mode === 'off') {
    return finding('medium', [
      `process.permission is undefined (${flags}, Node ${state.nodeVersion}): every route may spawn, load addons and open any file the UID can`,
    ]);
  }
  if (state.mode === 'audit') {
    return finding('medium', [
      `audit mode (${flags}, Node ${state.nodeVersion}): refused operations are published on node:permission-model:* and then carried out`,
    ]);
  }
  // Node 20 ships the model as experimental (--experimental-permission); it is stable since 22.13.0 and 23.5.0
  const stability = /^v20\./.test(state.nodeVersion) ? ', experimental on Node 20' : '';
  return ok(`enforced (${flags}, Node ${state.nodeVersion}${stability})`);
}

/**
 * What the enforcing (or auditing) model allows, one check per scope. Omitted when the model is off.
 */
export function permissionScopeChecks(state: PermissionModelState): (readonly [PostureCheckId, Outcome])[] {
  if (state.mode === 'off') return [];
  const allowedIf = (allowed: boolean, severity: 'high' | 'medium' | 'low', what: string, flag: string): Outcome =>
    allowed ? finding(severity, [`${flag}: ${what}`]) : ok(`not allowed (no ${flag})`);
  const read = everything(state.fsRead)
    ? finding('medium', [`--allow-fs-read: ${granted(state.fsRead)} (every path)`])
    : ok(`--allow-fs-read: ${granted(state.fsRead)}`);
  const write = everything(state.fsWrite)
    ? finding('medium', [`--allow-fs-write: ${granted(state.fsWrite)} (every path)`])
    : state.fsWrite.length > 0
      ? finding('low', [`--allow-fs-write: ${granted(state.fsWrite)}`])
      : ok('--allow-fs-write: nothing');
  return [
    ['PERMISSION_FS_READ', read],
    ['PERMISSION_FS_WRITE', write],
    [
      'PERMISSION_CHILD_PROCESS',
      allowedIf(
        state.childProcess,
        'high',
        'any route may run any program, outside the model',
        '--allow-child-process',
      ),
    ],
    [
      'PERMISSION_ADDONS',
      allowedIf(state.addons, 'high', 'native addons run code the model does not check', '--allow-addons'),
    ],
    ['PERMISSION_WORKER', allowedIf(state.worker, 'low', 'worker threads may be started', '--allow-worker')],
    ['PERMISSION_WASI', allowedIf(state.wasi, 'low', 'WASI instances may be created', '--allow-wasi')],
  ];
}
