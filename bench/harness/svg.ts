/** A small, dependency-free SVG line chart for the scaling curves: log-scale x, linear y, one polyline per series. */

/** One series: points `[x, y]` in increasing x. */
export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** Chart text and axes. */
export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Drawn as a dashed horizontal line (e.g. the target ratio). */
  readonly reference?: { readonly y: number; readonly label: string };
  readonly logX?: boolean;
}

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 60, right: 160, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

const escapeXml = (text: string): string =>
  text.replace(/[<>&"]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[char] ?? char);

/** Renders the chart as a standalone SVG document. */
export function lineChart(series: readonly Series[], options: ChartOptions): string {
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y));
  const fx = options.logX === false ? (x: number) => x : (x: number) => Math.log10(Math.max(x, 1e-9));
  const xMin = fx(Math.min(...xs));
  const xMax = Math.max(fx(Math.max(...xs)), xMin + 1e-9);
  const yMax = Math.max(...ys, options.reference?.y ?? 0) * 1.1 || 1;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + ((fx(x) - xMin) / (xMax - xMin)) * plotWidth;
  const py = (y: number) => MARGIN.top + plotHeight - (y / yMax) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(options.title)}</text>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + plotHeight}" x2="${MARGIN.left + plotWidth}" y2="${MARGIN.top + plotHeight}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotHeight}" stroke="black"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text x="15" y="${MARGIN.top + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 15 ${MARGIN.top + plotHeight / 2})">${escapeXml(options.yLabel)}</text>`,
  ];
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(
      `<text x="${px(x).toFixed(1)}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${x.toLocaleString('en')}</text>`,
    );
  }
  for (let step = 0; step <= 4; step++) {
    const y = (yMax / 4) * step;
    parts.push(
      `<text x="${MARGIN.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${y.toFixed(2)}</text>`,
      `<line x1="${MARGIN.left}" y1="${py(y).toFixed(1)}" x2="${MARGIN.left + plotWidth}" y2="${py(y).toFixed(1)}" stroke="#eee"/>`,
    );
  }
  if (options.reference !== undefined) {
    const y = py(options.reference.y).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotWidth}" y2="${y}" stroke="gray" stroke-dasharray="6 4"/>`,
      `<text x="${MARGIN.left + plotWidth + 6}" y="${y}" fill="gray">${escapeXml(options.reference.label)}</text>`,
    );
  }
  series.forEach((s, index) => {
    const color = COLORS[index % COLORS.length] as string;
    const points = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`);
    for (const [x, y] of s.points) {
      parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`);
    }
    const legendY = MARGIN.top + 16 + index * 18;
    parts.push(
      `<line x1="${WIDTH - MARGIN.right + 20}" y1="${legendY - 4}" x2="${WIDTH - MARGIN.right + 36}" y2="${legendY - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${WIDTH - MARGIN.right + 40}" y="${legendY}">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
