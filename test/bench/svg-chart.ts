/** One contender's line in the chart: a value per x (waiter count, unless the panel says). */
export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  /** x → value; a missing x leaves a gap. */
  readonly points: ReadonlyArray<{ readonly x: number; readonly value: number }>;
  /** Dashed line (for percentiles other than the median). */
  readonly dashed?: boolean;
}

/** One panel: evenly spaced x values (waiters by default), linear or log₁₀ values on y. */
export interface ChartPanel {
  readonly title: string;
  /** The x axis when it is not the chart's waiter counts: its values and label. */
  readonly x?: { readonly values: readonly number[]; readonly label: string };
  readonly yLabel: string;
  readonly logY: boolean;
  readonly series: readonly ChartSeries[];
  /** Horizontal reference lines, e.g. the floor. */
  readonly references?: ReadonlyArray<{ readonly label: string; readonly value: number }>;
}

const PANEL_WIDTH = 460;
const PANEL_HEIGHT = 300;
const MARGIN = { left: 64, right: 16, top: 36, bottom: 84 };

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round "nice" ticks covering [0, max]: the last one is max or above (else points overflow). */
function linearTicks(max: number): number[] {
  const step = 10 ** Math.floor(Math.log10(max / 2 || 1));
  const unit = [1, 2, 5, 10].map((m) => m * step).find((s) => max / s <= 6) ?? step * 10;
  return Array.from({ length: Math.ceil(max / unit) + 1 }, (_, i) => i * unit);
}

function renderPanel(
  panel: ChartPanel,
  offsetX: number,
  offsetY: number,
  waiters: readonly number[],
): string {
  const xValues = panel.x?.values ?? waiters;
  const xLabel = panel.x?.label ?? 'waiters (4 processes, one lock)';
  const width = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const height = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const values = [
    ...panel.series.flatMap((s) => s.points.map((p) => p.value)),
    ...(panel.references ?? []).map((r) => r.value),
  ].filter((v) => Number.isFinite(v) && v > 0);
  const maxValue = Math.max(...values, 1);
  const minValue = Math.min(...values, maxValue);
  const [yMin, yMax] = panel.logY
    ? [10 ** Math.floor(Math.log10(minValue)), 10 ** Math.ceil(Math.log10(maxValue))]
    : [0, linearTicks(maxValue * 1.1).at(-1) ?? maxValue];
  const yTicks = panel.logY
    ? Array.from({ length: Math.round(Math.log10(yMax / yMin)) + 1 }, (_, i) => yMin * 10 ** i)
    : linearTicks(yMax);
  const y = (value: number) =>
    MARGIN.top +
    height -
    (panel.logY
      ? (Math.log10(value / yMin) / Math.log10(yMax / yMin)) * height
      : ((value - yMin) / (yMax - yMin)) * height);
  const xIndex = new Map(xValues.map((w, i) => [w, i]));
  const x = (w: number) =>
    MARGIN.left + ((xIndex.get(w) ?? 0) + 0.5) * (width / Math.max(1, xValues.length));
  const parts: string[] = [
    `<g transform="translate(${offsetX},${offsetY})">`,
    `<text x="${MARGIN.left}" y="20" font-size="14" font-weight="bold">${escape(panel.title)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${width}" height="${height}" fill="none" stroke="#999"/>`,
  ];
  for (const tick of yTicks) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + width}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(tick) + 4}" font-size="11" text-anchor="end">${tick}</text>`,
    );
  }
  for (const w of xValues) {
    parts.push(
      `<text x="${x(w)}" y="${MARGIN.top + height + 16}" font-size="11" text-anchor="middle">${w}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + width / 2}" y="${MARGIN.top + height + 32}" font-size="11" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text transform="translate(14,${MARGIN.top + height / 2}) rotate(-90)" font-size="11" text-anchor="middle">${escape(panel.yLabel)}</text>`,
  );
  for (const reference of panel.references ?? []) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + width}" y1="${y(reference.value)}" y2="${y(reference.value)}" stroke="#666" stroke-dasharray="2,3"/>`,
      `<text x="${MARGIN.left + width - 4}" y="${y(reference.value) - 4}" font-size="10" text-anchor="end" fill="#666">${escape(reference.label)}</text>`,
    );
  }
  panel.series.forEach((series, index) => {
    const points = series.points.filter((p) => Number.isFinite(p.value) && p.value > 0);
    const path = points.map((p) => `${x(p.x)},${y(p.value)}`).join(' ');
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6,4"' : ''}/>`,
      ...points.map(
        (p) => `<circle cx="${x(p.x)}" cy="${y(p.value)}" r="3" fill="${series.color}"/>`,
      ),
    );
    const legendY = MARGIN.top + height + 48 + Math.floor(index / 2) * 14;
    const legendX = MARGIN.left + (index % 2) * (width / 2);
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 18}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6,4"' : ''}/>`,
      `<text x="${legendX + 22}" y="${legendY}" font-size="11">${escape(series.label)}</text>`,
    );
  });
  parts.push('</g>');
  return parts.join('\n');
}

/** Panels per row of the chart. */
const COLUMNS = 3;

/**
 * Renders panels side by side, `COLUMNS` to a row, as a standalone SVG document (no script, no
 * external font).
 * @param waiters The x values of panels that do not give their own.
 * @param subtitle A line under the panels: machine, versions, date.
 */
export function renderChart(
  panels: readonly ChartPanel[],
  waiters: readonly number[],
  subtitle: string,
): string {
  const width = PANEL_WIDTH * Math.min(COLUMNS, panels.length);
  const height = PANEL_HEIGHT * Math.ceil(panels.length / COLUMNS) + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panels.map((panel, i) =>
      renderPanel(
        panel,
        (i % COLUMNS) * PANEL_WIDTH,
        Math.floor(i / COLUMNS) * PANEL_HEIGHT,
        waiters,
      ),
    ),
    `<text x="8" y="${height - 8}" font-size="10" fill="#666">${escape(subtitle)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
