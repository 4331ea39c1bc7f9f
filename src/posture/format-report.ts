/**
 * Renders a {@link ContainerAuditReport} as a readable text table (for `koa-mtls doctor`), with ANSI colours only
 * when asked to.
 */
import { SEVERITIES } from './severity.js';
import type { ContainerAuditReport, PostureCheck, PostureSeverity, PostureThreshold } from './types.js';

/**
 * How to render.
 */
export interface FormatOptions {
  /** Use ANSI colours. */
  readonly color: boolean;
  /** The threshold in force, or `undefined` for none. */
  readonly failOn: PostureThreshold | undefined;
  /** The checks that fail at that threshold. */
  readonly failing: readonly PostureCheck[];
}

/** The widest an observation gets in the table; the full text is in the details below it. */
const OBSERVED_WIDTH = 72;

type Paint = (text: string) => string;

function palette(
  color: boolean,
): Readonly<Record<'red' | 'boldRed' | 'yellow' | 'cyan' | 'green' | 'magenta' | 'dim' | 'bold', Paint>> {
  const sgr =
    (open: string): Paint =>
    (text) =>
      color ? `\u001b[${open}m${text}\u001b[0m` : text;
  return {
    red: sgr('31'),
    boldRed: sgr('1;31'),
    yellow: sgr('33'),
    cyan: sgr('36'),
    green: sgr('32'),
    magenta: sgr('35'),
    dim: sgr('2'),
    bold: sgr('1'),
  };
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

const STATUS_ORDER: Readonly<Record<PostureCheck['status'], number>> = { finding: 0, unknown: 1, ok: 2 };

function severityRank(severity: PostureSeverity): number {
  return SEVERITIES.indexOf(severity);
}

/**
 * Formats the report: a header, one table row per check (findings first, most severe first), the details (what was
 * seen, why it matters, the fix) of every finding and unknown check, and a summary line.
 */
export function formatReport(report: ContainerAuditReport, options: FormatOptions): string {
  const paint = palette(options.color);
  const severityPaint: Readonly<Record<PostureSeverity, Paint>> = {
    critical: paint.boldRed,
    high: paint.red,
    medium: paint.yellow,
    low: paint.cyan,
    info: paint.dim,
  };
  const statusLabel = (check: PostureCheck): string => {
    if (check.status === 'finding') return severityPaint[check.severity]('FINDING'.padEnd(8));
    if (check.status === 'unknown') return paint.magenta('unknown'.padEnd(8));
    return paint.green('ok'.padEnd(8));
  };
  const severityLabel = (check: PostureCheck): string => {
    if (check.status === 'ok') return ''.padEnd(10);
    // an unknown check shows its worst case in parentheses: it could not be ruled out
    const text = check.status === 'unknown' ? `(${check.severity})` : check.severity;
    return severityPaint[check.severity](text.padEnd(10));
  };
  const idWidth = Math.max(5, ...report.checks.map((check) => check.id.length)) + 2;
  const container = report.container;
  const lines: string[] = [
    paint.bold('koa-mtls doctor: container posture'),
    `Container  ${container.status}${container.runtime === undefined ? '' : ` (${container.runtime})`}: ${container.evidence.join('; ')}`,
    `Read       ${report.root} in ${report.durationMs} ms`,
    '',
    paint.bold(`${'STATUS'.padEnd(8)} ${'SEVERITY'.padEnd(10)} ${'CHECK'.padEnd(idWidth)} OBSERVED`),
  ];
  const ordered = [...report.checks].sort(
    (a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || severityRank(a.severity) - severityRank(b.severity),
  );
  for (const check of ordered) {
    const observed = truncate(check.evidence.join('; '), OBSERVED_WIDTH);
    lines.push(`${statusLabel(check)} ${severityLabel(check)} ${check.id.padEnd(idWidth)} ${observed}`);
  }
  const detailed = ordered.filter((check) => check.status !== 'ok');
  if (detailed.length > 0) lines.push('', paint.bold('Details'));
  for (const check of detailed) {
    const label = check.status === 'unknown' ? `unknown, up to ${check.severity}` : check.severity;
    lines.push('', `${severityPaint[check.severity](check.id)} (${label}): ${check.title}`);
    for (const [index, fact] of check.evidence.entries())
      lines.push(`  ${paint.dim(index === 0 ? 'seen' : '    ')}  ${fact}`);
    lines.push(`  ${paint.dim('why ')}  ${check.why}`);
    lines.push(`  ${paint.dim('fix ')}  docker: ${check.fix.docker}`);
    lines.push(`        k8s:    ${check.fix.kubernetes}`);
  }
  const counts = SEVERITIES.map(
    (severity) => [severity, report.findings.filter((f) => f.severity === severity).length] as const,
  )
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${count} ${severity}`);
  const okCount = report.checks.filter((check) => check.status === 'ok').length;
  lines.push(
    '',
    `${report.findings.length} finding(s)${counts.length > 0 ? ` (${counts.join(', ')})` : ''}, ${report.unknown.length} unknown, ${okCount} ok.`,
  );
  if (options.failOn === undefined) {
    lines.push('No threshold (--fail-on none): exit 0.');
  } else if (options.failing.length === 0) {
    lines.push(paint.green(`Nothing at or above "${options.failOn}": exit 0.`));
  } else {
    lines.push(
      paint.red(`At or above "${options.failOn}": ${options.failing.map((check) => check.id).join(', ')}: exit 1.`),
    );
  }
  return `${lines.join('\n')}\n`;
}
