/**
 * The renderings of a probe result: SARIF validates with and without results; nothing a service or a document sends
 * reaches the terminal unescaped.
 */
import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/probe/findings.js';
import { formatJson, formatSarif, formatTable } from '../../src/probe/report.js';
import type { ProbeResult } from '../../src/probe/run.js';
import { validateSarif } from './sarif-schema.js';

const stats = { operations: 1, planned: 1, sent: 1, truncated: 0, redirects: 0, offOriginRedirects: 0, failed: 0 };
const empty: ProbeResult = { origin: 'https://127.0.0.1:8443', findings: [], stats, skipped: [] };
const hostile: ProbeResult = {
  ...empty,
  findings: [
    {
      rule: 'unguarded-route-reached',
      category: 'property-authorization',
      level: 'warning',
      // A path from an untrusted OpenAPI document: an ANSI clear-screen and a bidi override.
      operation: 'GET /a\u001b[2J\u202eb',
      request: { method: 'GET', path: '/a%1B%5B2J' },
      status: 200,
      marker: 'status:200',
      evidence: 'HTTP 200',
      fix: RULES['unguarded-route-reached'].fix,
    },
  ],
};

describe('probe reports', () => {
  it('writes SARIF 2.1.0 that validates with no results, with a location, and without one', () => {
    expect(validateSarif(JSON.parse(formatSarif(empty)))).toEqual([]);
    const log = JSON.parse(formatSarif(hostile, 'src/app.ts'));
    expect(validateSarif(log)).toEqual([]);
    expect(log.runs[0].tool.driver.rules.map((rule: { id: string }) => rule.id)).toEqual(Object.keys(RULES));
    expect(validateSarif(JSON.parse(formatSarif(hostile)))).toEqual([]);
    // The validator itself rejects a log the schema forbids.
    expect(validateSarif({ version: '2.1.0', runs: [{ results: [] }] })).not.toEqual([]);
  });

  it('escapes control and bidi characters in the table', () => {
    const table = formatTable(hostile);
    expect(table.includes('\u001b') || table.includes('\u202e')).toBe(false);
    expect(table).toContain('GET /a\\u001b[2J\\u202eb');
  });

  it('says so when there is nothing to report, with the summary', () => {
    expect(formatTable(empty)).toBe(
      'No findings.\n0 finding(s) (0 error, 0 warning); 1 of 1 planned request(s) to https://127.0.0.1:8443 over 1 operation(s)\n',
    );
    expect(JSON.parse(formatJson(empty))).toMatchObject({ schema: 'koa-mtls/probe@1', findings: [] });
  });
});
