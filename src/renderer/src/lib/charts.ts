/** chart.js set up once for the app: every controller registered, colours from the theme, an opaque PNG background. */
import { Chart, registerables, type Plugin } from 'chart.js';

Chart.register(...registerables);

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Reads the theme's colours into chart.js defaults (called before each chart is created). */
export function applyTheme(): void {
  Chart.defaults.color = cssVar('--muted') || '#666';
  Chart.defaults.borderColor = cssVar('--border') || '#ddd';
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
}

// Exported PNGs get the panel colour behind them instead of transparency (readable in any viewer).
const background: Plugin = {
  id: 'panelBackground',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = cssVar('--panel') || '#fff';
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};
Chart.register(background);

/**
 * Writes the legend's share of the chart's area on the canvas (`data-legend-share`, 0..1) after each
 * layout, and the legend's box, so tests and people can check that a legend never outgrows its plot.
 */
const legendProbe: Plugin = {
  id: 'legendProbe',
  afterLayout(chart) {
    const l = chart.legend;
    const area = chart.width * chart.height;
    const share = l && l.options.display !== false && area > 0 ? ((l.width ?? 0) * (l.height ?? 0)) / area : 0;
    chart.canvas.dataset.legendShare = share.toFixed(4);
  },
};
Chart.register(legendProbe);

/**
 * A compact legend for charts of many runs: small boxes and type, at most a quarter of the chart's height
 * (chart.js leaves out what does not fit; the tooltip names every series), only the entries `keep` accepts.
 */
export function compactLegend(height: number, keep?: (text: string) => boolean): Record<string, unknown> {
  return {
    position: 'top',
    maxHeight: Math.floor(height / 4),
    labels: { boxWidth: 10, boxHeight: 10, padding: 6, font: { size: 10 }, ...(keep ? { filter: (item: { text: string }) => keep(item.text) } : {}) },
  };
}

export { Chart };
