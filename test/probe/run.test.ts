/**
 * runProbe with a scripted sender (no network): how responses become findings.
 */
import { describe, expect, it } from 'vitest';
import type { ProbeResponse, SendRequest } from '../../src/probe/client.js';
import { createDetector } from '../../src/probe/evidence.js';
import type { ProbeOperation } from '../../src/probe/operations.js';
import { buildPlan } from '../../src/probe/plan.js';
import { runProbe } from '../../src/probe/run.js';

const origin = new URL('https://127.0.0.1:8443');
const passwd = 'root:x:0:0:root:/root:/bin/sh\n';

function operation(path: string, flags: string[] = [], guarded = true): ProbeOperation {
  const slots = path.includes('{') ? [{ in: 'path' as const, name: 'name', guessed: false }] : [];
  return { method: 'GET', path, slots, guard: { guarded, flags }, sources: ['app'] };
}

async function probe(operations: ProbeOperation[], answer: (path: string) => ProbeResponse | Error) {
  const detector = await createDetector({ local: false });
  const send: SendRequest = async (_method, path) => {
    const response = answer(path);
    if (response instanceof Error) throw response;
    return response;
  };
  const plan = buildPlan(operations, { unsafeMethods: false, maxRequests: 1000 });
  return runProbe(plan, send, detector, { origin, rate: 1000 });
}

const ok = (body: string, status = 200): ProbeResponse => ({ status, location: undefined, body });

describe('runProbe', () => {
  it('never makes a finding of a status code alone', async () => {
    const result = await probe([operation('/files/{name}')], () => ok('', 200));
    expect(result.findings).toEqual([]);
  });

  it('reports host content a payload returned once per operation and input, with the first request', async () => {
    const result = await probe([operation('/files/{name}')], (path) =>
      path.includes('passwd') || path.includes('hosts') ? ok(passwd) : ok('', 404),
    );
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]).toMatchObject({
      rule: 'host-content-via-input',
      operation: 'GET /files/{name}',
      input: 'path name',
      request: { path: '/files/%2Fetc%2Fpasswd', form: 'absolute', target: '/etc/passwd' },
      marker: 'signature:passwd',
    });
  });

  it('attributes host content the benign request already returned to the route, not to the input', async () => {
    const result = await probe([operation('/dump/{name}')], () => ok(passwd));
    expect(result.findings.map((finding) => finding.rule)).toEqual(['host-data-on-benign-request']);
  });

  it('counts a partial-policy route as reached by its case variant only with a success', async () => {
    const partial = operation('/v1/admin/users', ['no-policy', 'partial-policy'], false);
    const denied = await probe([partial], (path) => ok('', path === '/v1/admin/users' ? 403 : 404));
    expect(denied.findings).toEqual([]);
    const bypassed = await probe([partial], (path) => ok('[]', path === '/v1/admin/users' ? 403 : 200));
    expect(bypassed.findings).toMatchObject([
      { rule: 'partial-policy-route-reached', request: { path: '/V1/ADMIN/USERS' }, status: 200 },
    ]);
  });

  it('does not report a guarded route, nor an unguarded one that answered 401 or 403', async () => {
    const result = await probe([operation('/a'), operation('/b', ['no-policy'], false)], () => ok('', 403));
    expect(result.findings).toEqual([]);
  });

  it('counts failed requests and redirects; neither is a finding by itself', async () => {
    let calls = 0;
    const result = await probe([operation('/files/{name}', ['no-policy'], false)], () => {
      calls += 1;
      if (calls === 1) return new Error('reset');
      return { status: 302, location: 'https://elsewhere.example/x', body: '' };
    });
    expect(result.stats).toMatchObject({ failed: 1, redirects: calls - 1, offOriginRedirects: calls - 1 });
    expect(result.findings).toEqual([]);
  });
});
