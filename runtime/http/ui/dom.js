// @ts-check
/* global document, setTimeout, clearTimeout, Node, HTMLElement */
// Shared DOM helpers. Saga data only ever becomes text nodes, never markup.

/**
 * @typedef {Node | string | number | false | null | undefined} Child
 * @typedef {{ [name: string]: unknown, onclick?: (event: MouseEvent) => unknown }} Attrs
 *   `on…` functions become listeners; `class` the class name; `true` an empty attribute;
 *   `false`, null and undefined no attribute at all.
 */

/**
 * An element with attributes and children (strings and numbers become text).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function')
      node.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else if (k === 'class') node.className = String(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/**
 * The element of the page with this id; the page is broken without it.
 * @template {Element} T
 * @param {string} id
 * @param {new (...args: never[]) => T} type
 * @returns {T}
 */
export function element(id, type) {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page has no #${id} (${type.name})`);
  return found;
}

/** Where the pages render. */
export const view = element('view', HTMLElement);

/** @param {string} status */
export const pill = (status) => h('span', { class: `pill ${status}`, 'data-status': status }, status);

/** @param {unknown} value */
export const json = (value) => h('pre', { class: 'json' }, JSON.stringify(value, null, 2));

/** @type {number | undefined} */
let toastTimer;

/**
 * A message for a few seconds at the bottom of the page.
 * @param {string} message
 * @param {boolean} [bad] an error, shown as one
 */
export function toast(message, bad = false) {
  const t = element('toast', HTMLElement);
  t.textContent = message;
  t.className = bad ? 'toast bad' : 'toast';
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 3500);
}
