// @ts-check
/* global document */
// SVG helpers of the statechart drawing.

/** @typedef {import('@dagrejs/dagre').Point} Point */

const SVG = 'http://www.w3.org/2000/svg';

/**
 * An SVG element.
 * @param {string} tag
 * @param {Record<string, string | number | null | undefined>} [attrs]
 * @param {...(Node | null | undefined)} children
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs))
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children) if (c) node.append(c);
  return node;
}

/**
 * A smooth path through dagre's edge points (it gives every edge at least two).
 * @param {Point[]} points
 */
export function curve(points) {
  const [first, ...rest] = points;
  if (!first) return '';
  let d = `M${first.x},${first.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = /** @type {Point} */ (rest[i]);
    const n = /** @type {Point} */ (rest[i + 1]);
    d += ` Q${p.x},${p.y} ${(p.x + n.x) / 2},${(p.y + n.y) / 2}`;
  }
  const last = rest.at(-1);
  if (last) d += ` L${last.x},${last.y}`;
  return d;
}
