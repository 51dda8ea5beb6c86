// @ts-check
/**
 * The only way the views build DOM: `el()` creates elements whose text is set with text
 * nodes, never `innerHTML`, so data from the server or a broker file cannot become markup.
 * Also the shared loading / empty / error states.
 */
import { ApiError } from '../api/errors.js';
import { isTransientError } from './recovery.js';

/**
 * @typedef {object} ElProps
 * @property {string} [className]
 * @property {Record<string, string | number | boolean | null | undefined>} [attrs]  false/null/undefined: not set
 * @property {Record<string, string>} [dataset]
 * @property {Record<string, EventListener>} [on]
 * @property {string} [text]   shorthand for one text child
 */

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * `el('td', {className: 'num'}, '1,234.50')`. Strings become text nodes.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {ElProps | null} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props = null, ...children) {
  const node = document.createElement(tag);
  if (props) {
    if (props.className) node.className = props.className;
    for (const [name, value] of Object.entries(props.attrs ?? {})) {
      if (value === false || value === null || value === undefined) continue;
      if (/^on/i.test(name) || name.toLowerCase() === 'style') throw new Error(`el(): refusing attribute ${name}`);
      node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const [key, value] of Object.entries(props.dataset ?? {})) node.dataset[key] = value;
    for (const [type, listener] of Object.entries(props.on ?? {})) node.addEventListener(type, listener);
    if (props.text !== undefined) node.append(props.text);
  }
  append(node, children);
  return node;
}

/**
 * @param {Element | DocumentFragment} parent
 * @param {(Child | Child[])[]} children
 */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'number' ? String(child) : child);
  }
}

/** A visible "Loading…" placeholder (also sets aria-busy on the region). */
export function loadingState(text = 'Loading…') {
  return el('div', { className: 'state state-loading', attrs: { role: 'status' } }, el('span', { className: 'spinner', attrs: { 'aria-hidden': 'true' } }), text);
}

/** @param {string} text @param {Child} [extra] */
export function emptyState(text, extra = null) {
  return el('div', { className: 'state state-empty' }, el('p', null, text), extra);
}

/**
 * What went wrong, in the server's words: the problem+json `detail`, each invalid field,
 * and the request id to quote when reporting it.
 * @param {unknown} error
 * @param {{retry?: () => void, context?: string}} [options]
 */
export function errorState(error, options = {}) {
  const box = el('div', { className: 'state state-error', attrs: { role: 'alert' } });
  const { headline, detail, fields, requestId } = describeError(error);
  box.append(el('strong', null, options.context ? `${options.context}: ${headline}` : headline));
  if (detail && detail !== headline) box.append(el('p', null, detail));
  if (fields.length > 0) {
    box.append(el('ul', { className: 'field-errors' }, fields.map((f) => el('li', null, f))));
  }
  if (requestId) box.append(el('p', { className: 'muted small' }, `Request id ${requestId}`));
  if (options.retry) {
    const retry = options.retry;
    box.append(el('button', { className: 'btn', attrs: { type: 'button' }, on: { click: () => retry() } }, 'Try again'));
  }
  return box;
}

/**
 * Words for an error (pure; unit-tested). Field errors read "risk (body): Input should be
 * greater than 0".
 * @param {unknown} error
 * @returns {{headline: string, detail: string, fields: string[], requestId: string}}
 */
export function describeError(error) {
  if (error instanceof ApiError) {
    const headline = error.kind === 'http' ? error.title || `HTTP ${error.status}` : error.message;
    const fields = error.errors.map((e) => `${e.name ?? '?'}${e.in ? ` (${e.in})` : ''}: ${e.reason ?? 'invalid'}`);
    return { headline, detail: error.kind === 'http' ? error.detail ?? error.message : '', fields, requestId: error.requestId };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { headline: 'Something went wrong', detail: message, fields: [], requestId: '' };
}

/** @param {unknown} error */
export function isAbort(error) {
  return (error instanceof ApiError && error.isAborted) || (error instanceof DOMException && error.name === 'AbortError');
}

/**
 * Run `load` into `region`: shows the loading state, then whatever `load` returns, or the
 * error state (with a retry button). Aborted loads (the view changed) render nothing.
 * @param {HTMLElement} region
 * @param {() => Promise<Node | Node[]>} load
 * @param {{context?: string, keepContent?: boolean, retry?: () => void}} [options]  keepContent: no spinner over
 *   existing content; retry: what "Try again" does (default: run `load` again)
 */
export async function renderInto(region, load, options = {}) {
  region.setAttribute('aria-busy', 'true');
  if (!options.keepContent || region.childElementCount === 0) region.replaceChildren(loadingState());
  try {
    const content = await load();
    region.replaceChildren(...(Array.isArray(content) ? content : [content]));
  } catch (error) {
    if (isAbort(error)) return;
    const box = errorState(error, { context: options.context, retry: options.retry ?? (() => void renderInto(region, load, options)) });
    // A refresh of the view may well succeed: PanelRecovery (ui/recovery.js) does it.
    if (isTransientError(error)) box.dataset.transient = 'true';
    region.replaceChildren(box);
  } finally {
    region.removeAttribute('aria-busy');
  }
}

/**
 * A section card with a heading.
 * @param {string} title
 * @param {...(Child | Child[])} children
 */
export function card(title, ...children) {
  return el('section', { className: 'card' }, el('h2', null, title), ...children);
}
