// @ts-check
/**
 * Router slots for the options half (`#screener`, `#ticker/<T>`), filled by a later view
 * module; until then they say so instead of showing a blank page.
 */
import { card, el } from '../ui/dom.js';

/**
 * @param {import('./common.js').ViewContext} ctx
 * @returns {import('./common.js').ViewInstance}
 */
export function mount(ctx) {
  const { view, param } = ctx.route;
  const title = view === 'ticker' ? `Ticker analysis${param ? ` · ${param}` : ''}` : 'Earnings screener';
  const text =
    view === 'ticker'
      ? 'IV30/RV30, term structure, expected move and the calendar-spread ticket for one ticker arrive here.'
      : 'Earnings scans ranked by the options verdict arrive here.';
  ctx.root.replaceChildren(
    el('div', { className: 'view-header' }, el('h2', null, title)),
    card('Coming soon', el('p', { className: 'muted' }, text), el('p', null, el('a', { attrs: { href: '#summary' } }, 'Back to the journal'))),
  );
  return { refresh() {}, destroy() {} };
}

/**
 * The page for an unknown hash.
 * @param {import('./common.js').ViewContext} ctx
 * @returns {import('./common.js').ViewInstance}
 */
export function mountNotFound(ctx) {
  ctx.root.replaceChildren(
    card('Not found', el('p', null, `There is no view “${ctx.route.raw}”. `, el('a', { attrs: { href: '#summary' } }, 'Go to the summary'), '.')),
  );
  return { refresh() {}, destroy() {} };
}
