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

export { Chart };
