// @ts-check
/* global window, document, sessionStorage, URLSearchParams, setInterval, clearInterval */
// The saga list: filters kept for the tab, the first page polled while the tab is visible.
import { api, explain } from './api.js';
import { h, pill, toast, view } from './dom.js';
import { ago, between, duration } from './format.js';
import { statuses, terminal } from './model.js';
import { overviewPanel } from './overview.js';

/** @typedef {import('./model.js').SagaPage} SagaPage */
/** @typedef {import('./model.js').SagaSummary} SagaSummary */
/** @typedef {import('./model.js').SagaTypes} SagaTypes */

/**
 * @typedef {object} Filters
 * @property {string} type
 * @property {string[]} status
 * @property {string} correlationId
 * @property {string} createdAfter `datetime-local`, local time
 * @property {string} createdBefore
 */

/** @type {Filters} */
const listState = JSON.parse(sessionStorage.getItem('jetsaga.filters') ?? 'null') ?? {
  type: '',
  status: [],
  correlationId: '',
  createdAfter: '',
  createdBefore: '',
};

/**
 * Filters given in the page's address (`#/?type=…&status=…`, the overview's links) replace the
 * tab's, so a link shows exactly the sagas it names.
 */
function filtersFromHash() {
  const query = window.location.hash.split('?')[1];
  if (!query) return;
  const q = new URLSearchParams(query);
  if (!q.has('type') && !q.has('status')) return;
  listState.type = q.get('type') ?? '';
  listState.status = (q.get('status') ?? '')
    .split(',')
    .filter((s) => /** @type {readonly string[]} */ (statuses).includes(s));
  listState.correlationId = '';
  listState.createdAfter = '';
  listState.createdBefore = '';
  sessionStorage.setItem('jetsaga.filters', JSON.stringify(listState));
}

/**
 * @param {number} limit
 * @param {string | null} [cursor]
 */
function listQuery(limit, cursor) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (listState.type) q.set('type', listState.type);
  if (listState.status.length) q.set('status', listState.status.join(','));
  if (listState.correlationId) q.set('correlationId', listState.correlationId);
  if (listState.createdAfter) q.set('createdAfter', new Date(listState.createdAfter).toISOString());
  if (listState.createdBefore) q.set('createdBefore', new Date(listState.createdBefore).toISOString());
  if (cursor) q.set('cursor', cursor);
  return `/v1/sagas?${q}`;
}

/**
 * Renders the list into the view.
 * @returns {() => void} stops it
 */
export function listPage() {
  filtersFromHash();
  let alive = true;
  const overview = overviewPanel();
  /** @type {SagaSummary[]} */
  let items = [];
  /** @type {string | null} */
  let nextCursor = null;
  /** @type {Map<string, string>} each shown saga's `status/rev`, to flash the rows that changed */
  const seen = new Map();
  const tbody = h('tbody');
  const more = h('button', { type: 'button', hidden: true, onclick: () => loadMore() }, 'Load more');
  const live = h('span', { class: 'live on' }, 'live');
  const typeSelect = h(
    'select',
    { name: 'type', 'aria-label': 'saga type' },
    h('option', { value: '' }, 'all types'),
  );
  const chips = h('div', { class: 'chips', role: 'group', 'aria-label': 'status filter' });

  const save = () => sessionStorage.setItem('jetsaga.filters', JSON.stringify(listState));
  const renderChips = () => {
    chips.replaceChildren(
      h(
        'button',
        {
          type: 'button',
          class: `chip ${listState.status.length === 0 ? 'on' : ''}`,
          onclick: () => ((listState.status = []), changed()),
        },
        'all',
      ),
      ...statuses.map((s) =>
        h(
          'button',
          {
            type: 'button',
            class: `chip ${listState.status.includes(s) ? 'on' : ''}`,
            'data-filter-status': s,
            onclick: () => {
              listState.status = listState.status.includes(s)
                ? listState.status.filter((x) => x !== s)
                : [...listState.status, s];
              changed();
            },
          },
          s,
        ),
      ),
    );
  };
  /**
   * @param {'correlationId' | 'createdAfter' | 'createdBefore'} name
   * @param {string} type
   * @param {string} label
   * @param {string} [placeholder]
   */
  const input = (name, type, label, placeholder) => {
    const field = h('input', { name, type, value: listState[name], placeholder });
    field.addEventListener('change', () => {
      listState[name] = field.value.trim();
      changed();
    });
    return h('label', {}, label, field);
  };

  /** @param {SagaSummary} s */
  const row = (s) => {
    const previous = seen.get(s.sagaId);
    const tr = h(
      'tr',
      {
        class: `clickable ${previous && previous !== `${s.status}/${s.rev}` ? 'flash' : ''}`,
        'data-saga': s.sagaId,
        onclick: () => (window.location.hash = `#/sagas/${encodeURIComponent(s.sagaId)}`),
      },
      h('td', {}, pill(s.status)),
      h('td', {}, h('a', { class: 'mono', href: `#/sagas/${encodeURIComponent(s.sagaId)}` }, s.sagaId)),
      h('td', {}, s.type, h('span', { class: 'subtle' }, ` v${s.version}`)),
      h('td', { class: 'mono' }, s.state ?? '—'),
      h('td', {}, s.reason ?? ''),
      h('td', { title: s.createdAt ?? '' }, ago(s.createdAt)),
      h(
        'td',
        { class: 'subtle' },
        terminal.has(s.status) ? duration(between(s.createdAt, s.updatedAt)) : `${s.rev} steps`,
      ),
    );
    seen.set(s.sagaId, `${s.status}/${s.rev}`);
    return tr;
  };
  const render = () => {
    tbody.replaceChildren(
      ...(items.length
        ? items.map(row)
        : [h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No saga matches these filters yet.'))]),
    );
    more.hidden = !nextCursor;
  };
  async function refresh() {
    try {
      const page = /** @type {SagaPage} */ (await api(listQuery(Math.min(500, Math.max(50, items.length)))));
      if (!alive) return;
      items = page.items;
      nextCursor = page.nextCursor;
      render();
      live.className = 'live on';
    } catch (err) {
      live.className = 'live';
      if (alive) toast(explain(err), true);
    }
  }
  async function loadMore() {
    const page = /** @type {SagaPage} */ (await api(listQuery(50, nextCursor)));
    items = items.concat(page.items);
    nextCursor = page.nextCursor;
    render();
  }
  function changed() {
    save();
    renderChips();
    seen.clear();
    items = [];
    void refresh();
  }

  renderChips();
  typeSelect.addEventListener('change', () => {
    listState.type = typeSelect.value;
    changed();
  });
  view.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Sagas'), live, h('div', { class: 'grow' })),
    overview.node,
    h(
      'div',
      { class: 'panel' },
      h(
        'div',
        { class: 'filters' },
        h('label', {}, 'Type', typeSelect),
        h('label', {}, 'Status', chips),
        input('correlationId', 'search', 'Correlation id', 'e.g. order-42'),
        input('createdAfter', 'datetime-local', 'Created after'),
        input('createdBefore', 'datetime-local', 'Created before'),
      ),
      h(
        'table',
        { 'aria-label': 'sagas' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Status', 'Saga', 'Type', 'State', 'Reason', 'Created', 'Duration'].map((t) =>
              h('th', {}, t),
            ),
          ),
        ),
        tbody,
      ),
      h('div', { class: 'more' }, more),
    ),
  );
  api('/v1/saga-types')
    .then((body) => {
      for (const t of /** @type {SagaTypes} */ (body).items)
        typeSelect.append(h('option', { value: t.type, selected: t.type === listState.type }, t.type));
    })
    .catch(() => undefined);
  void refresh();
  void overview.refresh();
  // Live status: the first page again every two seconds while the tab is visible, the overview
  // (a few aggregations) every ten.
  let ticks = 0;
  const timer = setInterval(() => {
    if (document.visibilityState !== 'visible') return;
    void refresh();
    if (++ticks % 5 === 0) void overview.refresh();
  }, 2000);
  return () => {
    alive = false;
    clearInterval(timer);
  };
}
