// @ts-check
/**
 * Plotly, loaded on first use from `/static/vendor/plotly.min.js` (served from the
 * `plotly` Python package; ~1.5 MB gzipped, so not on every page load), plus the chart
 * figures the views draw. Figure builders are pure (unit-tested); `drawChart` is the DOM
 * part.
 *
 * CSP: index.html links `/static/vendor/plotly.css` as `#plotly.js-style-global` with class
 * `no-inline-styles`, which makes plotly.js skip injecting its own `<style>` element, so
 * the page keeps `style-src 'self'`. Plotly's per-element styling goes through the CSSOM
 * (`element.style`), which CSP allows. Charts here avoid colour bars and image traces,
 * the few places plotly.js writes a `style` attribute.
 */

import { currentTheme } from './theme.js';

export const PLOTLY_URL = '/static/vendor/plotly.min.js';

/** @type {Promise<any> | null} */
let loading = null;

/**
 * Resolves once the page has had a chance to paint: after the next animation frame, or
 * after 100 ms where frames do not run (a hidden tab).
 * @returns {Promise<void>}
 */
function afterPaint() {
  if (typeof requestAnimationFrame !== 'function') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 100);
    requestAnimationFrame(() => setTimeout(() => {
      clearTimeout(timer);
      resolve();
    }, 0));
  });
}

/**
 * The global `Plotly`, loading the script once. Evaluating the bundle blocks the page for
 * ~0.4–1 s, so the script goes in only after what is already rendered (e.g. the KPI
 * cards) has been painted; index.html preloads its bytes.
 * @returns {Promise<any>}
 */
export function loadPlotly() {
  const existing = /** @type {any} */ (globalThis).Plotly;
  if (existing) return Promise.resolve(existing);
  if (loading) return loading;
  loading = afterPaint().then(() => new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = PLOTLY_URL;
    script.async = true;
    script.onload = () => {
      const plotly = /** @type {any} */ (globalThis).Plotly;
      if (plotly) resolve(plotly);
      else reject(new Error('The chart library loaded but did not initialise'));
    };
    script.onerror = () => {
      loading = null; // let the next view try again (e.g. after reconnecting)
      script.remove();
      reject(new Error('Could not load the chart library'));
    };
    document.head.append(script);
  }));
  return loading;
}

/**
 * Chart colours per theme. Figure builders use the dark palette; `themedFigure` swaps its
 * colours for the theme shown when the chart is drawn, and `rethemeCharts` redraws every
 * chart when the theme changes.
 */
export const CHART_THEMES = Object.freeze({
  dark: { fg: '#e6e6e6', muted: '#8a94a0', grid: '#26303b', hoverBg: '#171e26', pos: '#2ecc71', neg: '#e74c3c', line: '#5dade2', ddFill: 'rgba(231,76,60,0.25)' },
  light: { fg: '#1f2328', muted: '#59636e', grid: '#d8dee4', hoverBg: '#ffffff', pos: '#1a7f37', neg: '#cf222e', line: '#0969da', ddFill: 'rgba(207,34,46,0.18)' },
});
const COLORS = { ...CHART_THEMES.dark, dd: CHART_THEMES.dark.neg };

/** Layout shared by every chart: transparent, compact, no title (cards have headings). */
export function baseLayout() {
  return {
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: COLORS.fg, family: 'system-ui, sans-serif', size: 12 },
    margin: { l: 60, r: 16, t: 10, b: 40 },
    hovermode: 'x unified',
    showlegend: false,
    xaxis: { gridcolor: COLORS.grid, zerolinecolor: COLORS.grid },
    yaxis: { gridcolor: COLORS.grid, zerolinecolor: COLORS.muted },
  };
}

export const PLOT_CONFIG = Object.freeze({ displaylogo: false, responsive: true, modeBarButtonsToRemove: ['lasso2d', 'select2d'] });

/**
 * @typedef {{date: string, pnl: number, equity: number, drawdown: number}} EquityPoint
 * @typedef {{data: object[], layout: Record<string, any>}} Figure
 */

/**
 * Equity on top, drawdown (money below the running peak) underneath, sharing the x axis.
 * @param {readonly EquityPoint[]} points
 * @param {'net' | 'gross'} basis
 * @returns {Figure}
 */
export function equityFigure(points, basis) {
  const dates = points.map((p) => p.date);
  const layout = baseLayout();
  return {
    data: [
      { type: 'scatter', mode: 'lines', name: `Equity (${basis})`, x: dates, y: points.map((p) => p.equity), line: { color: COLORS.line, width: 2 }, hovertemplate: '%{y:,.2f}<extra>Equity</extra>' },
      { type: 'scatter', mode: 'lines', name: 'Drawdown', x: dates, y: points.map((p) => p.drawdown), yaxis: 'y2', fill: 'tozeroy', line: { color: COLORS.dd, width: 1 }, fillcolor: COLORS.ddFill, hovertemplate: '%{y:,.2f}<extra>Drawdown</extra>' },
    ],
    layout: {
      ...layout,
      margin: { ...layout.margin, t: 6 },
      xaxis: { ...layout.xaxis, type: 'date', anchor: 'y2' },
      yaxis: { ...layout.yaxis, domain: [0.32, 1], title: { text: `Equity (${basis})` }, tickformat: ',.0f' },
      yaxis2: { ...layout.yaxis, domain: [0, 0.26], title: { text: 'Drawdown' }, tickformat: ',.0f', rangemode: 'tozero' },
    },
  };
}

/**
 * Bars of P&L per key, green up / red down.
 * @param {readonly {key: string, value: number}[]} rows
 * @param {{label: string, horizontal?: boolean, category?: boolean}} options
 * @returns {Figure}
 */
export function pnlBarFigure(rows, options) {
  const keys = rows.map((r) => r.key);
  const values = rows.map((r) => r.value);
  const colors = values.map((v) => (v >= 0 ? COLORS.pos : COLORS.neg));
  const layout = baseLayout();
  const bar = options.horizontal
    ? { type: 'bar', orientation: 'h', y: keys, x: values, marker: { color: colors }, hovertemplate: `%{y}: %{x:,.2f}<extra>${options.label}</extra>` }
    : { type: 'bar', x: keys, y: values, marker: { color: colors }, hovertemplate: `%{x}: %{y:,.2f}<extra>${options.label}</extra>` };
  const category = { ...layout.xaxis, type: 'category' };
  return {
    data: [bar],
    layout: options.horizontal
      ? { ...layout, height: Math.max(180, keys.length * 22 + 60), hovermode: 'closest', margin: { ...layout.margin, l: 110 }, yaxis: { ...layout.yaxis, type: 'category', autorange: 'reversed' }, xaxis: { ...layout.xaxis, title: { text: options.label }, tickformat: ',.0f' } }
      : { ...layout, hovermode: 'closest', xaxis: options.category === false ? layout.xaxis : category, yaxis: { ...layout.yaxis, title: { text: options.label }, tickformat: ',.0f' } },
  };
}

/**
 * Draw (or redraw) a figure into `element`; rejects if Plotly cannot be loaded, so the
 * caller shows its error state.
 * @param {HTMLElement} element
 * @param {Figure} figure
 */
export async function drawChart(element, figure) {
  const Plotly = await loadPlotly();
  if (!element.isConnected) return; // the view changed while Plotly loaded
  element.dataset.state = 'drawing'; // a hook for tests and bench/frontend.py
  drawn.set(element, figure);
  const themed = themedFigure(figure, currentTheme());
  await Plotly.react(element, themed.data, themed.layout, PLOT_CONFIG);
  element.dataset.state = 'ready';
}

/** The figure each drawn chart was given (before theming), for `rethemeCharts`. */
const drawn = new WeakMap();

/**
 * `figure` in the colours of `theme` (pure; the input is not changed): text, grid and
 * hover-label colours, and the palette's trace colours swapped for the theme's.
 * @param {Figure} figure
 * @param {import('./theme.js').Theme} theme
 * @returns {Figure}
 */
export function themedFigure(figure, theme) {
  const t = CHART_THEMES[theme] ?? CHART_THEMES.dark;
  const dark = CHART_THEMES.dark;
  const swaps = new Map([[dark.pos, t.pos], [dark.neg, t.neg], [dark.line, t.line], [dark.ddFill, t.ddFill], [dark.fg, t.fg], [dark.muted, t.muted], [dark.grid, t.grid]]);
  /** @param {unknown} value */
  const swap = (value) => (typeof value === 'string' ? swaps.get(value) ?? value : Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? swaps.get(v) ?? v : v)) : value);
  const data = figure.data.map((trace) => {
    const out = /** @type {Record<string, any>} */ ({ ...trace });
    if (out.marker) out.marker = { ...out.marker, color: swap(out.marker.color) };
    if (out.line) out.line = { ...out.line, color: swap(out.line.color) };
    if (out.fillcolor) out.fillcolor = swap(out.fillcolor);
    return out;
  });
  /** @type {Record<string, any>} */
  const layout = { ...figure.layout, font: { ...figure.layout.font, color: t.fg }, hoverlabel: { bgcolor: t.hoverBg, bordercolor: t.grid, font: { color: t.fg } } };
  for (const key of Object.keys(layout)) {
    if (!/^[xy]axis\d*$/.test(key)) continue;
    const axis = layout[key];
    layout[key] = { ...axis, gridcolor: t.grid, zerolinecolor: swap(axis.zerolinecolor ?? dark.grid) };
  }
  return { data, layout };
}

/**
 * Redraw every chart on the page in the current theme (after the theme changed).
 * @param {ParentNode} [root]
 */
export async function rethemeCharts(root = document) {
  const Plotly = /** @type {any} */ (globalThis).Plotly;
  if (!Plotly) return; // nothing drawn yet
  const theme = currentTheme();
  const redraws = [];
  for (const node of Array.from(root.querySelectorAll('.js-plotly-plot'))) {
    const element = /** @type {HTMLElement} */ (node);
    const figure = drawn.get(element);
    if (!figure || !element.isConnected) continue;
    const themed = themedFigure(figure, theme);
    redraws.push(Plotly.react(element, themed.data, themed.layout, PLOT_CONFIG));
  }
  await Promise.all(redraws);
}

/**
 * Release a chart's listeners and WebGL/DOM (call when its view goes away).
 * @param {HTMLElement} element
 */
export function purgeChart(element) {
  const Plotly = /** @type {any} */ (globalThis).Plotly;
  if (Plotly) Plotly.purge(element);
}
