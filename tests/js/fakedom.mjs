// A minimal DOM for unit tests of the view modules (no jsdom: no Node packages to
// install). It implements what web/js/ui and web/js/views use — elements, text nodes,
// attributes, classList, dataset, events, and querySelector(All) for simple selectors
// (tag, .class, #id, [attr] / [attr="v"], descendant and comma lists) — and refuses
// innerHTML outright, so a view that tried to use it fails its tests.

class FakeNode extends EventTarget {
  constructor(ownerDocument) {
    super();
    this.ownerDocument = ownerDocument;
    this.parentNode = null;
    this.childNodes = [];
  }

  get textContent() {
    return this.childNodes.map((c) => c.textContent).join('');
  }

  set textContent(value) {
    this.replaceChildren(String(value ?? ''));
  }

  get isConnected() {
    let node = this;
    while (node.parentNode) node = node.parentNode;
    return node === this.ownerDocument?.documentElement || node === this.ownerDocument;
  }

  _adopt(child) {
    const node = typeof child === 'string' ? new FakeText(this.ownerDocument, child) : child;
    if (node.parentNode) node.remove();
    node.parentNode = this;
    return node;
  }

  append(...children) {
    for (const child of children) this.childNodes.push(this._adopt(child));
  }

  appendChild(child) {
    this.append(child);
    return child;
  }

  insertBefore(child, ref) {
    const node = this._adopt(child);
    const i = ref ? this.childNodes.indexOf(ref) : -1;
    if (i === -1) this.childNodes.push(node);
    else this.childNodes.splice(i, 0, node);
    return child;
  }

  replaceChildren(...children) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    this.append(...children);
  }

  remove() {
    if (!this.parentNode) return;
    const siblings = this.parentNode.childNodes;
    siblings.splice(siblings.indexOf(this), 1);
    this.parentNode = null;
  }
}

class FakeText extends FakeNode {
  constructor(doc, text) {
    super(doc);
    this.data = text;
  }

  get textContent() {
    return this.data;
  }

  set textContent(value) {
    this.data = String(value);
  }
}

class FakeClassList {
  constructor(element) {
    this.element = element;
  }

  _set(names) {
    this.element.className = [...new Set(names)].join(' ');
  }

  get _names() {
    return this.element.className.split(/\s+/).filter(Boolean);
  }

  add(...names) {
    this._set([...this._names, ...names]);
  }

  remove(...names) {
    this._set(this._names.filter((n) => !names.includes(n)));
  }

  contains(name) {
    return this._names.includes(name);
  }

  toggle(name, force) {
    const on = force ?? !this.contains(name);
    if (on) this.add(name);
    else this.remove(name);
    return on;
  }
}

const PROPERTY_ATTRS = ['id', 'title', 'href', 'type', 'name', 'placeholder', 'src', 'download'];

export class FakeElement extends FakeNode {
  constructor(doc, tag) {
    super(doc);
    this.tagName = tag.toUpperCase();
    this.attributes = new Map();
    this.className = '';
    this.classList = new FakeClassList(this);
    this.dataset = {};
    this.style = {};
    this.hidden = false;
    this.disabled = false;
    this.checked = false;
    this.tabIndex = -1;
    this._value = '';
    this.focused = false;
    for (const prop of PROPERTY_ATTRS) {
      Object.defineProperty(this, prop, {
        get: () => this.getAttribute(prop) ?? '',
        set: (v) => this.setAttribute(prop, String(v)),
      });
    }
  }

  get localName() {
    return this.tagName.toLowerCase();
  }

  set innerHTML(_value) {
    throw new Error('innerHTML is not allowed in views');
  }

  get innerHTML() {
    throw new Error('innerHTML is not allowed in views');
  }

  get children() {
    return this.childNodes.filter((c) => c instanceof FakeElement);
  }

  get childElementCount() {
    return this.children.length;
  }

  get value() {
    if (this.tagName === 'SELECT') {
      const chosen = this.options.find((o) => o._selected) ?? this.options.find((o) => o.hasAttribute('selected')) ?? this.options[0];
      return chosen ? chosen.value : '';
    }
    if (this.tagName === 'OPTION') return this.hasAttribute('value') ? this.getAttribute('value') : this.textContent;
    return this._value;
  }

  set value(v) {
    if (this.tagName === 'SELECT') {
      for (const o of this.options) o._selected = o.value === String(v);
      return;
    }
    this._value = String(v);
  }

  get options() {
    return this.querySelectorAll('option');
  }

  setAttribute(name, value) {
    if (/^on/i.test(name) || name === 'style') throw new Error(`inline ${name} attribute`);
    this.attributes.set(name, String(value));
    if (name === 'value' && this.tagName !== 'OPTION' && this.tagName !== 'SELECT') this._value = String(value);
    if (name === 'disabled') this.disabled = true;
    if (name === 'hidden') this.hidden = true;
  }

  getAttribute(name) {
    if (name === 'class') return this.className;
    return this.attributes.has(name) ? this.attributes.get(name) : null;
  }

  hasAttribute(name) {
    return this.attributes.has(name);
  }

  removeAttribute(name) {
    this.attributes.delete(name);
  }

  focus() {
    this.focused = true;
  }

  scrollIntoView() {}

  click() {
    this.dispatchEvent(new FakeEvent('click'));
  }

  *_descendants() {
    for (const child of this.childNodes) {
      if (child instanceof FakeElement) {
        yield child;
        yield* child._descendants();
      }
    }
  }

  querySelectorAll(selector) {
    const alternatives = selector.split(',').map((s) => s.trim().split(/\s+/).map(parseCompound));
    return [...this._descendants()].filter((node) => alternatives.some((chain) => matchesChain(node, chain, this)));
  }

  querySelector(selector) {
    return this.querySelectorAll(selector)[0] ?? null;
  }

  /** Test helper: all text, with single spaces. */
  get text() {
    return this.textContent.replace(/\s+/g, ' ').trim();
  }
}

function parseCompound(text) {
  const parts = { tag: null, classes: [], id: null, attrs: [] };
  const re = /([a-z][a-z0-9-]*)|\.([\w-]+)|#([\w.-]+)|\[([\w-]+)(?:="([^"]*)")?\]/gi;
  let m;
  while ((m = re.exec(text))) {
    if (m[1]) parts.tag = m[1].toUpperCase();
    else if (m[2]) parts.classes.push(m[2]);
    else if (m[3]) parts.id = m[3];
    else parts.attrs.push([m[4], m[5]]);
  }
  return parts;
}

function matchesCompound(node, c) {
  if (c.tag && node.tagName !== c.tag) return false;
  if (c.id && node.getAttribute('id') !== c.id) return false;
  if (!c.classes.every((name) => node.classList.contains(name))) return false;
  return c.attrs.every(([name, value]) => {
    const actual = name.startsWith('data-') ? node.dataset[name.slice(5).replace(/-(\w)/g, (_, ch) => ch.toUpperCase())] ?? node.getAttribute(name) : node.getAttribute(name);
    return value === undefined ? actual !== null && actual !== undefined : actual === value;
  });
}

function matchesChain(node, chain, scope) {
  if (!matchesCompound(node, chain[chain.length - 1])) return false;
  let i = chain.length - 2;
  let current = node.parentNode;
  while (i >= 0 && current && current !== scope) {
    if (current instanceof FakeElement && matchesCompound(current, chain[i])) i -= 1;
    current = current.parentNode;
  }
  return i < 0;
}

export class FakeEvent extends Event {
  constructor(type, init = {}) {
    super(type, { cancelable: true, ...init });
  }
}

export class FakeDocument extends EventTarget {
  constructor() {
    super();
    this.documentElement = new FakeElement(this, 'html');
    this.head = new FakeElement(this, 'head');
    this.body = new FakeElement(this, 'body');
    this.documentElement.append(this.head, this.body);
    this.visibilityState = 'visible';
  }

  createElement(tag) {
    return new FakeElement(this, tag);
  }

  createTextNode(text) {
    return new FakeText(this, text);
  }

  getElementById(id) {
    return this.documentElement.querySelector(`#${id}`);
  }

  querySelectorAll(selector) {
    return this.documentElement.querySelectorAll(selector);
  }
}

/** Install a fresh fake `document` as a global; returns it. */
export function installDocument() {
  const doc = new FakeDocument();
  globalThis.document = doc;
  return doc;
}
