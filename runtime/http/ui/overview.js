// @ts-check
/* global URLSearchParams */
// The fleet at a glance, above the saga list: counts by status, starts and ends per minute,
// p50/p95 by type, the top reasons (each a link to its sagas in the list), dead letters, lag.
import { api } from './api.js';
import { h } from './dom.js';
import { duration } from './format.js';
import { statuses } from './model.js';
import { el } from './svg.js';

/**
 * `GET /v1/overview` (schemas.ts, OverviewSchema).
 * @typedef {object} Overview
 * @property {string} window
 * @property {{ total: number, byStatus: Record<string, number>, byType: Array<{ type: string, total: number, byStatus: Record<string, number> }> }} counts
 * @property {{ bucketSeconds: number, starts: number[], ends: number[] }} series
 * @property {{ sampled: boolean, byType: Array<{ type: string, ended: number, p50Ms: number, p95Ms: number }> }} durations
 * @property {Array<{ reason: string, status: string, type: string, count: number, links: { sagas: string } }>} reasons
 * @property {{ waiting: number, byConsumer: Array<{ consumer: string, count: number }> } | null} deadLetters
 * @property {Array<{ stream: string, consumer: string, pending: number, ackPending: number, lag: number }> | null} consumers
 */

/**
 * The list page's address showing the sagas of a type and status (saga-list.js reads it).
 * @param {string} type
 * @param {string} status
 */
export const listHref = (type, status) => `#/?${new URLSearchParams({ type, status })}`;

/**
 * Starts and ends per bucket as two lines, inline SVG.
 * @param {number[]} starts
 * @param {number[]} ends
 * @param {number} bucketSeconds
 */
function chart(starts, ends, bucketSeconds) {
  const width = 360;
  const height = 80;
  const max = Math.max(1, ...starts, ...ends);
  const n = Math.max(1, starts.length - 1);
  /** @param {number[]} values */
  const line = (values) =>
    values
      .map(
        (v, i) =>
          `${i === 0 ? 'M' : 'L'}${((i / n) * width).toFixed(1)},${(height - (v / max) * (height - 4)).toFixed(1)}`,
      )
      .join(' ');
  const minutes = Math.round((starts.length * bucketSeconds) / 60);
  return el(
    'svg',
    {
      class: 'ov-chart',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-label': `sagas started and ended per ${bucketSeconds} s over the last ${minutes} min`,
    },
    el('line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: 'ov-axis' }),
    el('path', { d: line(starts), class: 'ov-starts', 'data-series': 'starts' }),
    el('path', { d: line(ends), class: 'ov-ends', 'data-series': 'ends' }),
  );
}

/**
 * One figure: a big number and what it counts.
 * @param {string} label
 * @param {number | string} value
 * @param {Record<string, string>} [attrs]
 */
const figure = (label, value, attrs = {}) =>
  h('div', { class: 'ov-figure', ...attrs }, h('strong', {}, String(value)), h('span', {}, label));

/**
 * @param {Overview} o
 * @returns {HTMLElement[]}
 */
function render(o) {
  const sum = (/** @type {number[]} */ xs) => xs.reduce((a, b) => a + b, 0);
  const dlq = o.deadLetters;
  const lag = o.consumers;
  const totalLag = lag ? sum(lag.map((c) => c.lag)) : null;
  return [
    h(
      'div',
      { class: 'ov-figures' },
      figure(`sagas in the last ${o.window}`, o.counts.total, { 'data-count': 'total' }),
      ...statuses
        .filter((s) => (o.counts.byStatus[s] ?? 0) > 0 || s === 'running' || s === 'failed')
        .map((s) => figure(s, o.counts.byStatus[s] ?? 0, { 'data-count': s, class: `ov-figure ${s}` })),
      h(
        'a',
        { href: '#/dlq', class: `ov-figure ${dlq && dlq.waiting > 0 ? 'bad' : ''}`, 'data-count': 'dlq' },
        h('strong', {}, dlq ? String(dlq.waiting) : '?'),
        h('span', {}, 'dead letters waiting'),
      ),
      figure('consumer lag', totalLag === null ? '?' : totalLag, {
        'data-count': 'lag',
        title: lag
          ? lag.map((c) => `${c.consumer}: ${c.pending} pending, ${c.ackPending} unacked`).join('\n')
          : 'NATS could not be read',
      }),
    ),
    h(
      'div',
      { class: 'ov-row' },
      h(
        'div',
        { class: 'ov-block' },
        h(
          'h2',
          {},
          `Per ${o.series.bucketSeconds === 60 ? 'minute' : `${o.series.bucketSeconds} s`}: `,
          h('span', { class: 'ov-starts-key' }, `${sum(o.series.starts)} started`),
          ', ',
          h('span', { class: 'ov-ends-key' }, `${sum(o.series.ends)} ended`),
        ),
        chart(o.series.starts, o.series.ends, o.series.bucketSeconds),
      ),
      h(
        'div',
        { class: 'ov-block' },
        h('h2', {}, 'Durations of ended sagas', o.durations.sampled ? ' (latest, sampled)' : ''),
        o.durations.byType.length
          ? h(
              'table',
              { class: 'ov-durations', 'aria-label': 'durations by type' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  h('th', {}, 'Type'),
                  h('th', {}, 'ended'),
                  h('th', {}, 'p50'),
                  h('th', {}, 'p95'),
                ),
              ),
              h(
                'tbody',
                {},
                ...o.durations.byType.map((d) =>
                  h(
                    'tr',
                    { 'data-type': d.type },
                    h('td', {}, d.type),
                    h('td', {}, d.ended),
                    h('td', {}, duration(d.p50Ms)),
                    h('td', {}, duration(d.p95Ms)),
                  ),
                ),
              ),
            )
          : h('p', { class: 'subtle' }, 'None ended in this window.'),
      ),
      h(
        'div',
        { class: 'ov-block' },
        h('h2', {}, 'Top reasons'),
        o.reasons.length
          ? h(
              'ol',
              { class: 'ov-reasons' },
              ...o.reasons.map((r) =>
                h(
                  'li',
                  { 'data-reason': r.reason },
                  h(
                    'a',
                    { href: listHref(r.type, r.status), title: `the ${r.status} sagas of ${r.type}` },
                    h('strong', {}, r.reason),
                  ),
                  ' ',
                  h('span', { class: 'ov-reason-count' }, `× ${r.count}`),
                  h('span', { class: 'subtle' }, ` ${r.type}, ${r.status}`),
                ),
              ),
            )
          : h('p', { class: 'subtle' }, 'No compensation or failure in this window.'),
      ),
    ),
  ];
}

/**
 * The overview panel; `refresh` reads it again.
 * @returns {{ node: HTMLElement, refresh: () => Promise<void> }}
 */
export function overviewPanel() {
  const node = h('section', { class: 'panel overview', id: 'overview', 'aria-label': 'overview' });
  node.append(h('p', { class: 'subtle' }, 'Loading the overview…'));
  return {
    node,
    async refresh() {
      try {
        const o = /** @type {Overview} */ (await api('/v1/overview?window=1h'));
        node.replaceChildren(...render(o));
        node.dataset.loaded = 'true';
      } catch (err) {
        node.replaceChildren(
          h(
            'p',
            { class: 'subtle' },
            `The overview is not available: ${err instanceof Error ? err.message : String(err)}`,
          ),
        );
      }
    },
  };
}
