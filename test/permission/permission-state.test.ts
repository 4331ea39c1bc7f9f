import { describe, expect, it } from 'vitest';
import { type PermissionProcess, readPermissionModel } from '../../src/permission/permission-state.js';
import { permissionAudit } from '../../src/permission/violation-context.js';
import { checkPermissionModel, permissionScopeChecks } from '../../src/posture/permission-checks.js';

function fakeProcess(overrides: Partial<PermissionProcess>, granted: readonly string[] = []): PermissionProcess {
  return {
    execArgv: [],
    env: {},
    version: 'v22.23.5',
    permission: { has: (scope) => granted.includes(scope) },
    // the model refuses every path nothing grants: enforce mode
    stat: () => {
      throw Object.assign(new Error('denied'), { code: 'ERR_ACCESS_DENIED' });
    },
    ...overrides,
  };
}

describe('readPermissionModel', () => {
  it('is off when process.permission is undefined, and then everything is allowed', () => {
    const state = readPermissionModel(fakeProcess({ permission: undefined }));
    expect(state).toMatchObject({ mode: 'off', childProcess: true, addons: true, worker: true, wasi: true });
  });

  it('reads grants from the command line and NODE_OPTIONS (quoted values too)', () => {
    const state = readPermissionModel(
      fakeProcess({
        execArgv: ['--permission', '--allow-fs-read=/app', '--allow-fs-write', '/srv/up'],
        env: { NODE_OPTIONS: '--allow-fs-read="/srv/my files" --max-old-space-size=512' },
      }),
    );
    expect(state.flags).toEqual(['--permission (command line)']);
    expect(state.fsRead).toEqual(['/app', '/srv/my files']);
    expect(state.fsWrite).toEqual(['/srv/up']);
  });

  it('splits comma lists on Node 20 only (22 and later take one path per flag)', () => {
    const args = { execArgv: ['--experimental-permission', '--allow-fs-read=/a,/b'] };
    expect(readPermissionModel(fakeProcess({ ...args, version: 'v20.20.2' })).fsRead).toEqual(['/a', '/b']);
    expect(readPermissionModel(fakeProcess({ ...args, version: 'v22.23.5' })).fsRead).toEqual(['/a,/b']);
  });

  it('takes scopes from permission.has(), not from the flags', () => {
    const state = readPermissionModel(fakeProcess({ execArgv: ['--permission', '--allow-child-process'] }, ['worker']));
    expect(state).toMatchObject({ childProcess: false, worker: true, addons: false, wasi: false });
  });
});

describe('PERMISSION_* checks', () => {
  const base = readPermissionModel(fakeProcess({ execArgv: ['--permission', '--allow-fs-read=/app'] }));
  it('tells audit mode by the refused read that succeeds, whatever the flags say', () => {
    // Node 24.22 runs --permission --permission-audit in audit mode
    const both = { execArgv: ['--permission', '--permission-audit'], stat: () => ({}) };
    expect(readPermissionModel(fakeProcess(both)).mode).toBe('audit');
  });

  it('is ok when enforcing (true negative)', () => {
    expect(base.mode).toBe('enforce');
    expect(checkPermissionModel(base).status).toBe('ok');
    expect(permissionScopeChecks(base).map(([id, outcome]) => [id, outcome.status])).toEqual([
      ['PERMISSION_FS_READ', 'ok'],
      ['PERMISSION_FS_WRITE', 'ok'],
      ['PERMISSION_CHILD_PROCESS', 'ok'],
      ['PERMISSION_ADDONS', 'ok'],
      ['PERMISSION_WORKER', 'ok'],
      ['PERMISSION_WASI', 'ok'],
    ]);
  });

  it.each<[string, Partial<typeof base>, string, string]>([
    ['the model off', { mode: 'off' }, 'PERMISSION_MODEL', 'medium'],
    ['audit mode only', { mode: 'audit' }, 'PERMISSION_MODEL', 'medium'],
    ['child processes allowed', { childProcess: true }, 'PERMISSION_CHILD_PROCESS', 'high'],
    ['addons allowed', { addons: true }, 'PERMISSION_ADDONS', 'high'],
    ['workers allowed', { worker: true }, 'PERMISSION_WORKER', 'low'],
    ['WASI allowed', { wasi: true }, 'PERMISSION_WASI', 'low'],
    ['every path readable', { fsRead: ['*'] }, 'PERMISSION_FS_READ', 'medium'],
    ['the root readable', { fsRead: ['/'] }, 'PERMISSION_FS_READ', 'medium'],
    ['every path writable', { fsWrite: ['*'] }, 'PERMISSION_FS_WRITE', 'medium'],
    ['one directory writable', { fsWrite: ['/srv/up'] }, 'PERMISSION_FS_WRITE', 'low'],
  ])('reports %s (true positive)', (_case, change, id, severity) => {
    const state = { ...base, ...change };
    const outcomes = new Map([['PERMISSION_MODEL', checkPermissionModel(state)], ...permissionScopeChecks(state)]);
    expect(outcomes.get(id as never)).toMatchObject({ status: 'finding', severity });
  });

  it('omits the scope checks when the model is off (PERMISSION_MODEL covers it)', () => {
    expect(permissionScopeChecks({ ...base, mode: 'off' })).toEqual([]);
  });
});

describe('permissionAudit options', () => {
  it.each<[string, unknown, string]>([
    ['no onAudit', {}, 'permissionAudit.onAudit'],
    ['an onAudit that is not a function', { onAudit: 'log' }, 'permissionAudit.onAudit'],
    ['an unknown key', { onAudit: () => {}, onaudit: () => {} }, 'permissionAudit.onaudit'],
    ['a bad mode', { onAudit: () => {}, mode: 'strict' }, 'permissionAudit.mode'],
  ])('refuses %s at startup, naming the option', (_case, options, path) => {
    expect(() => permissionAudit(options as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', path }),
    );
  });
});
