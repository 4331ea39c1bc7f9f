/**
 * Renders a probe result: a table for terminals and CI logs, JSON, and SARIF 2.1.0 for code-scanning uploads.
 *
 * @module probe/report
 */
import { printable } from './evidence.js';
import { type Finding, type FindingCategory, type FindingLevel, RULES } from './findings.js';
import type { ProbeResult } from './run.js';

const CATEGORY_TITLES: Readonly<Record<FindingCategory, string>> = {
  'input-validation': 'Input Validation',
  'property-authorization': 'Property Authorization',
  'unsafe-consumption': 'Unsafe Consumption',
};

function probeLine(finding: Finding): string {
  const { method, path, form, target } = finding.request;
  const how = form === undefined ? '' : ` (${form} → ${target})`;
  return `${method} ${path}${how} → ${finding.status}`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function summary(result: ProbeResult): string {
  const { findings, stats } = result;
  const errors = findings.filter((finding) => finding.level === 'error').length;
  const lines = [
    `${findings.length} finding(s) (${errors} error, ${findings.length - errors} warning); ${stats.sent} of ${stats.planned} planned request(s) to ${result.origin} over ${stats.operations} operation(s)`,
  ];
  if (stats.truncated > 0)
    lines.push(`request budget reached: ${stats.truncated} planned request(s) not sent (raise --max-requests)`);
  if (stats.redirects > 0) {
    lines.push(`${stats.redirects} redirect(s) not followed (${stats.offOriginRedirects} to another origin)`);
  }
  if (stats.failed > 0) lines.push(`${stats.failed} request(s) failed (timeout or connection error)`);
  for (const skipped of result.skipped) lines.push(`skipped ${printable(skipped.operation)}: ${skipped.reason}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The result as a table (one row per finding) followed by each finding's probe, evidence and fix, and a summary.
 */
export function formatTable(result: ProbeResult): string {
  if (result.findings.length === 0) return `No findings.\n${summary(result)}`;
  const rows = [
    ['LEVEL', 'CATEGORY', 'OPERATION', 'INPUT', 'STATUS', 'EVIDENCE'],
    ...result.findings.map((finding) => [
      finding.level,
      CATEGORY_TITLES[finding.category],
      printable(finding.operation),
      printable(finding.input ?? '-'),
      String(finding.status),
      finding.evidence.length > 40 ? `${finding.evidence.slice(0, 40)}…` : finding.evidence,
    ]),
  ];
  const details = result.findings.map((finding, index) =>
    [
      `${index + 1}. [${finding.level}] ${CATEGORY_TITLES[finding.category]}: ${RULES[finding.rule].title}`,
      `   operation: ${printable(finding.operation)}${finding.input === undefined ? '' : ` (${printable(finding.input)})`}`,
      `   probe:     ${printable(probeLine(finding))}`,
      `   evidence:  ${finding.evidence} [${finding.marker}]`,
      `   fix:       ${finding.fix}`,
    ].join('\n'),
  );
  return `${table(rows)}\n\n${details.join('\n\n')}\n\n${summary(result)}`;
}

/** The result as JSON (`schema: koa-mtls/probe@1`). */
export function formatJson(result: ProbeResult): string {
  return `${JSON.stringify({ schema: 'koa-mtls/probe@1', ...result }, null, 2)}\n`;
}

const SARIF_LEVEL: Readonly<Record<FindingLevel, string>> = { error: 'error', warning: 'warning' };

/**
 * The result as a SARIF 2.1.0 log (OASIS SARIF v2.1.0 §3.13). Each result carries the request (§3.46 webRequest) and
 * the response status (§3.47 webResponse); `artifact`, when given (the app module or the OpenAPI document, relative to
 * the repository), is the physical location code-scanning services require.
 */
export function formatSarif(result: ProbeResult, artifact?: string): string {
  const ruleIds = Object.keys(RULES) as (keyof typeof RULES)[];
  const log = {
    $schema: 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'koa-mtls probe',
            informationUri: 'https://www.npmjs.com/package/koa-mtls',
            rules: ruleIds.map((id) => {
              const rule = RULES[id];
              return {
                id,
                name: id.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase()),
                shortDescription: { text: rule.title },
                help: { text: rule.fix },
                defaultConfiguration: { level: SARIF_LEVEL[rule.level] },
                properties: { tags: ['security', CATEGORY_TITLES[rule.category]] },
              };
            }),
          },
        },
        results: result.findings.map((finding) => ({
          ruleId: finding.rule,
          ruleIndex: ruleIds.indexOf(finding.rule),
          level: SARIF_LEVEL[finding.level],
          message: {
            text: `${RULES[finding.rule].title}: ${finding.operation}${finding.input === undefined ? '' : ` (${finding.input})`}. Evidence: ${finding.evidence}. Fix: ${finding.fix}`,
          },
          ...(artifact === undefined
            ? {}
            : { locations: [{ physicalLocation: { artifactLocation: { uri: artifact } } }] }),
          partialFingerprints: { 'koaMtlsProbe/v1': `${finding.rule}|${finding.operation}|${finding.input ?? ''}` },
          webRequest: {
            protocol: 'https',
            method: finding.request.method,
            target: `${result.origin}${finding.request.path}`,
          },
          webResponse: { statusCode: finding.status },
          properties: { category: CATEGORY_TITLES[finding.category], marker: finding.marker },
        })),
        invocations: [{ executionSuccessful: result.stats.failed === 0 }],
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
