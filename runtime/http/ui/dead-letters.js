// @ts-check
/* global window, URLSearchParams */
// Dead letters: the page of them all, a saga's own, and the card of one with replay and delete.
import { api, explain } from './api.js';
import { h, json, toast, view } from './dom.js';
import { ago } from './format.js';

/** @typedef {import('./model.js').DeadLetter} DeadLetter */
/** @typedef {import('./model.js').DeadLetterPage} DeadLetterPage */

/**
 * The payload as JSON when it is JSON, else as the text it is.
 * @param {string} text
 * @returns {unknown}
 */
function tryJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * One dead letter, with buttons to replay and delete it.
 * @param {DeadLetter} d
 * @param {() => Promise<void>} reload called after either
 */
function deadLetterCard(d, reload) {
  /**
   * @param {string} label
   * @param {string} cls
   * @param {() => Promise<void>} fn
   */
  const act = (label, cls, fn) => {
    const button = h('button', { type: 'button', class: cls }, label);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await fn();
        await reload();
      } catch (err) {
        toast(explain(err), true);
        button.disabled = false;
      }
    });
    return button;
  };
  return h(
    'div',
    { class: 'dl-item', 'data-dead-letter': d.id },
    h(
      'div',
      { class: 'tl-head' },
      h('span', { class: 'tag error' }, d.reason),
      h('span', { class: 'mono' }, d.subject),
      h('span', { class: 'subtle' }, `${d.consumer} · ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`),
      h('span', { class: 'tl-time', title: d.at ?? '' }, ago(d.at)),
    ),
    h('div', { class: 'error-text', style: 'margin-top:4px' }, d.error),
    d.sagaId
      ? h(
          'div',
          { class: 'subtle' },
          'saga ',
          h('a', { class: 'mono', href: `#/sagas/${encodeURIComponent(d.sagaId)}` }, d.sagaId),
        )
      : null,
    h(
      'details',
      {},
      h('summary', {}, 'original message'),
      json({ headers: d.headers, payload: tryJson(d.payload) }),
    ),
    h(
      'div',
      { class: 'actions' },
      act('Replay', 'primary', async () => {
        await api(`/v1/dlq/${d.id}/replay`, { method: 'POST' });
        toast('Replayed: the original message was published again');
      }),
      act('Delete', 'danger', async () => {
        if (!window.confirm('Delete this dead letter for good?')) throw new Error('kept');
        await api(`/v1/dlq/${d.id}`, { method: 'DELETE' });
        toast('Deleted');
      }),
    ),
  );
}

/**
 * The dead letters of one saga (its first 50), for the saga page.
 * @param {string} sagaId
 * @returns {{ element: HTMLElement, load: () => Promise<void> }} `load` (re)fills `element`
 */
export function letterList(sagaId) {
  const element = h('div', { id: 'dead-letters' });
  const load = async () => {
    try {
      const page = /** @type {DeadLetterPage} */ (
        await api(`/v1/dlq?sagaId=${encodeURIComponent(sagaId)}&limit=50`)
      );
      element.replaceChildren(
        h('h2', {}, `Dead letters (${page.items.length}${page.nextCursor ? '+' : ''})`),
        ...(page.items.length
          ? page.items.map((d) => deadLetterCard(d, load))
          : [h('p', { class: 'subtle' }, 'No message of this saga was dead-lettered.')]),
      );
    } catch (err) {
      element.replaceChildren(h('h2', {}, 'Dead letters'), h('p', { class: 'error-text' }, explain(err)));
    }
  };
  return { element, load };
}

/**
 * Renders the dead-letter page into the view.
 * @returns {() => void} stops it
 */
export function deadLetterPage() {
  let alive = true;
  const list = h('div');
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const filter = { consumer: '', sagaId: '' };
  /** @type {string | null} */
  let cursor = null;
  /** @param {string | null} after */
  const query = (after) => {
    const q = new URLSearchParams({ limit: '50' });
    if (filter.consumer) q.set('consumer', filter.consumer);
    if (filter.sagaId) q.set('sagaId', filter.sagaId);
    if (after) q.set('cursor', after);
    return `/v1/dlq?${q}`;
  };
  /** @param {boolean} [append] the next page below the ones shown, rather than the first again */
  async function load(append = false) {
    try {
      const page = /** @type {DeadLetterPage} */ (await api(query(append ? cursor : null)));
      if (!alive) return;
      cursor = page.nextCursor;
      const cards = page.items.map((d) => deadLetterCard(d, () => load()));
      if (append) list.append(...cards);
      else
        list.replaceChildren(
          ...(cards.length
            ? cards
            : [h('p', { class: 'empty' }, 'No dead letters. Every message was handled.')]),
        );
      more.hidden = !cursor;
    } catch (err) {
      list.replaceChildren(h('p', { class: 'error-text' }, explain(err)));
    }
  }
  more.addEventListener('click', () => load(true));
  /**
   * @param {'consumer' | 'sagaId'} name
   * @param {string} label
   * @param {string} placeholder
   */
  const field = (name, label, placeholder) => {
    const input = h('input', { type: 'search', placeholder });
    input.addEventListener('change', () => {
      filter[name] = input.value.trim();
      void load();
    });
    return h('label', {}, label, input);
  };
  view.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Dead letters')),
    h(
      'div',
      { class: 'panel' },
      h(
        'p',
        { class: 'subtle', style: 'margin-top:0' },
        'Messages that failed validation, failed terminally, or ran out of attempts. Fix the cause, then replay them; or delete them.',
      ),
      h(
        'div',
        { class: 'filters' },
        field('consumer', 'Consumer', 'e.g. orchestrator, svc-payment'),
        field('sagaId', 'Saga id', 'a saga id'),
      ),
      list,
      h('div', { class: 'more' }, more),
    ),
  );
  void load();
  return () => {
    alive = false;
  };
}
