/* global console, window, document, sessionStorage, fetch, URL, URLSearchParams, TextDecoder, AbortController, setTimeout, clearTimeout, setInterval, clearInterval, HTMLElement */
// The jetsaga inspector: plain JS modules, no build step. Everything it shows comes from
// the public API, so it works against any replica and shows nothing an API client could not.
import { drawStatechart } from './statechart.js';

const view = document.getElementById('view');
const terminal = new Set(['completed', 'compensated', 'failed', 'cancelled']);
const statuses = ['running', 'compensating', 'completed', 'compensated', 'failed', 'cancelled'];

// ---------- tiny DOM helper (text nodes only: saga data never becomes markup) ----------
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof HTMLElement || c.nodeType ? c : document.createTextNode(String(c)));
  }
  return node;
}

const pill = (status) => h('span', { class: `pill ${status}`, 'data-status': status }, status);
const json = (value) => h('pre', { class: 'json' }, JSON.stringify(value, null, 2));

function toast(message, bad = false) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.className = bad ? 'toast bad' : 'toast';
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 3500);
}

function ago(iso) {
  if (!iso) return '';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

const clock = (iso) =>
  iso
    ? new Date(iso).toLocaleTimeString(undefined, { hour12: false }) +
      `.${String(new Date(iso).getMilliseconds()).padStart(3, '0')}`
    : '';

// ---------- auth: a token from ?token= (once) or the sign-in dialog, kept in this tab only ----------
const tokenKey = 'jetsaga.token';
function adoptTokenFromUrl() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (!token) return;
  sessionStorage.setItem(tokenKey, token);
  url.searchParams.delete('token');
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
}
const token = () => sessionStorage.getItem(tokenKey);

function renderSession() {
  const box = document.getElementById('session');
  box.replaceChildren();
  if (token())
    box.append(
      h('span', {}, 'signed in with a token'),
      h(
        'button',
        { type: 'button', onclick: () => (sessionStorage.removeItem(tokenKey), window.location.reload()) },
        'Sign out',
      ),
    );
}

let loginWaiters = null;
function askForToken(message) {
  const dialog = document.getElementById('login');
  const error = document.getElementById('login-error');
  error.hidden = !message;
  error.textContent = message ?? '';
  if (!loginWaiters) {
    loginWaiters = [];
    dialog.showModal();
  }
  return new Promise((resolve) => loginWaiters.push(resolve));
}
document.getElementById('login-form').addEventListener('submit', () => {
  const input = document.querySelector('#login-form input[name=token]');
  sessionStorage.setItem(tokenKey, input.value.trim());
  input.value = '';
  renderSession();
  const waiters = loginWaiters ?? [];
  loginWaiters = null;
  for (const w of waiters) w();
});

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Calls the API with the token; a 401 asks for a token and tries again. */
async function api(path, init = {}, retried = false) {
  const headers = { Accept: 'application/json', ...(init.headers ?? {}) };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401 && !retried) {
    await askForToken(token() ? 'That token was not accepted.' : null);
    return api(path, init, true);
  }
  if (res.status === 204) return null;
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

function explain(err) {
  if (err instanceof ApiError && err.status === 403) {
    const scope = err.problem?.requiredScope;
    return scope
      ? `This token's scope is not enough: that needs a token with the ${scope} scope.`
      : err.message;
  }
  return err.message;
}

/**
 * Server-Sent Events over fetch, so the Authorization header can be sent (EventSource
 * cannot). Reconnects with Last-Event-ID until the server sends `end` or the signal aborts.
 */
async function follow(path, onEvent, signal, onState) {
  let lastId = null;
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      const headers = { Accept: 'text/event-stream' };
      if (token()) headers.Authorization = `Bearer ${token()}`;
      if (lastId !== null) headers['Last-Event-ID'] = lastId;
      const res = await fetch(path, { headers, signal });
      if (res.status === 401) {
        await askForToken(null);
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState(true);
      attempt = 0;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trimStart();
            else if (line.startsWith('id:')) lastId = line.slice(3).trim();
          }
          if (!data) continue;
          onEvent(event, JSON.parse(data));
          if (event === 'end') {
            onState(false);
            return;
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      console.warn('event stream interrupted', err);
    }
    onState(false);
    await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
  }
}

// ---------- router ----------
let leave = () => {};
function route() {
  leave();
  leave = () => {};
  const hash = window.location.hash.replace(/^#/, '') || '/';
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.remove('active');
  const saga = /^\/sagas\/(.+)$/.exec(hash);
  if (saga) {
    document.querySelector('[data-nav=sagas]').classList.add('active');
    leave = sagaPage(decodeURIComponent(saga[1]));
  } else if (hash.startsWith('/dlq')) {
    document.querySelector('[data-nav=dlq]').classList.add('active');
    leave = deadLetterPage();
  } else {
    document.querySelector('[data-nav=sagas]').classList.add('active');
    leave = listPage();
  }
}

// ---------- saga list ----------
const listState = JSON.parse(sessionStorage.getItem('jetsaga.filters') ?? 'null') ?? {
  type: '',
  status: [],
  correlationId: '',
  createdAfter: '',
  createdBefore: '',
};

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

function listPage() {
  let alive = true;
  let items = [];
  let nextCursor = null;
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
  const input = (name, type, label, placeholder) =>
    h(
      'label',
      {},
      label,
      h('input', {
        name,
        type,
        value: listState[name],
        placeholder,
        onchange: (e) => {
          listState[name] = e.target.value.trim();
          changed();
        },
      }),
    );

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
        terminal.has(s.status)
          ? duration(Date.parse(s.updatedAt) - Date.parse(s.createdAt))
          : `${s.rev} steps`,
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
      const page = await api(listQuery(Math.min(500, Math.max(50, items.length))));
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
    const page = await api(listQuery(50, nextCursor));
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
    .then(({ items: types }) => {
      for (const t of types)
        typeSelect.append(h('option', { value: t.type, selected: t.type === listState.type }, t.type));
    })
    .catch(() => undefined);
  void refresh();
  // Live status: the first page again every two seconds while the tab is visible.
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') void refresh();
  }, 2000);
  return () => {
    alive = false;
    clearInterval(timer);
  };
}

// ---------- one saga ----------
function stateTags(graph) {
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  const comp = new Set();
  for (const s of graph.states) {
    for (let p = s; p; p = p.parent !== null ? byId.get(p.parent) : undefined)
      if (p.tags.includes('compensating')) comp.add(s.id);
  }
  return comp;
}

/** A verdict (the fraud agent's, or any scorer's): `fraud.flagged` with score, threshold, reasons. */
function verdictOf(data, eventType) {
  if (!data || typeof data !== 'object') return null;
  const fromType = /^fraud\.(.+)$/.exec(eventType)?.[1] ?? null;
  const verdict = data.verdict ?? data.decision ?? fromType;
  const reasons = Array.isArray(data.reasons) ? data.reasons : null;
  if (verdict === null && reasons === null && typeof data.score !== 'number') return null;
  return {
    verdict,
    reasons,
    score: typeof data.score === 'number' ? data.score : null,
    threshold: typeof data.threshold === 'number' ? data.threshold : null,
    model: data.modelVersion ?? data.model ?? null,
    reviewer: typeof data.reviewer === 'string' ? data.reviewer : null,
  };
}

/** `xstate.after.stepTimeout.order-fulfillment.reservingInventory` reads as `stepTimeout`. */
function timerName(id) {
  const m = /^xstate\.after\.([^.]+)\./.exec(id);
  return m ? m[1] : id;
}

function timelineItem(entry, previousAt, comp, isNew) {
  const toComp = entry.to !== null && comp.has(entry.to);
  const classes = ['tl-item'];
  if (toComp) classes.push('comp');
  if (terminal.has(entry.status)) classes.push(`end-${entry.status}`);
  if (isNew) classes.push('new');
  const data = entry.event.data;
  const tags = [];
  if (entry.event.type === 'saga.started') tags.push(h('span', { class: 'tag' }, 'start'));
  if (entry.event.type === 'saga.timer') tags.push(h('span', { class: 'tag timer' }, 'timer fired'));
  if (entry.event.type === 'saga.cancel') tags.push(h('span', { class: 'tag error' }, 'cancel requested'));
  if (toComp) tags.push(h('span', { class: 'tag comp' }, 'compensation'));
  if (terminal.has(entry.status)) tags.push(pill(entry.status));
  const details = [];
  if (entry.commands.length)
    details.push(
      h(
        'div',
        {},
        ...entry.commands.map((c) =>
          h('span', { class: `cmd ${toComp ? 'comp' : ''}`, title: c.msgId }, c.type),
        ),
      ),
    );
  for (const t of entry.timers.set)
    details.push(
      h(
        'div',
        { class: 'subtle', title: t.id },
        h('span', { class: 'tag timer' }, 'timer'),
        ` ${timerName(t.id)} armed, fires in ${duration(Date.parse(t.dueAt) - Date.parse(entry.at))}`,
      ),
    );
  if (entry.timers.cancelled.length)
    details.push(
      h(
        'div',
        { class: 'subtle', title: entry.timers.cancelled.join('\n') },
        `timer ${entry.timers.cancelled.map(timerName).join(', ')} cancelled`,
      ),
    );
  const verdict = verdictOf(data, entry.event.type);
  if (verdict) {
    const bad = /flag|reject|decline|deny/i.test(String(verdict.verdict ?? ''));
    details.push(
      h(
        'div',
        {},
        h(
          'span',
          { class: `tag ${bad ? 'verdict-bad' : 'verdict-ok'}` },
          `verdict: ${verdict.verdict ?? '?'}`,
        ),
        verdict.score !== null ? ` score ${verdict.score.toFixed(3)}` : '',
        verdict.threshold !== null ? h('span', { class: 'subtle' }, ` (threshold ${verdict.threshold})`) : '',
        verdict.model ? h('span', { class: 'subtle' }, ` · model ${verdict.model}`) : '',
        verdict.reviewer ? h('span', { class: 'subtle' }, ` · reviewed by ${verdict.reviewer}`) : '',
        verdict.reasons?.length
          ? h(
              'ul',
              { class: 'reasons' },
              ...verdict.reasons.map((r) => h('li', {}, typeof r === 'string' ? r : JSON.stringify(r))),
            )
          : '',
      ),
    );
  }
  const problem = data && typeof data === 'object' ? (data.error ?? (verdict ? null : data.reason)) : null;
  if (problem)
    details.push(
      h(
        'div',
        {},
        h('span', { class: 'tag error' }, 'error'),
        ` ${typeof problem === 'string' ? problem : JSON.stringify(problem)}`,
      ),
    );
  if (data && typeof data === 'object' && Object.keys(data).length)
    details.push(h('details', {}, h('summary', {}, 'event data'), json(data)));
  const delta = previousAt && entry.at ? ` +${duration(Date.parse(entry.at) - Date.parse(previousAt))}` : '';
  return h(
    'li',
    { class: classes.join(' '), 'data-rev': entry.rev },
    h(
      'div',
      { class: 'tl-head' },
      h('span', { class: 'tl-event' }, entry.event.type),
      ...tags,
      h('span', { class: 'tl-time', title: entry.at ?? '' }, `#${entry.rev} · ${clock(entry.at)}${delta}`),
    ),
    h(
      'div',
      { class: 'tl-move' },
      h('span', { class: 'mono' }, entry.from ?? '∅'),
      h('span', { class: 'arrow' }, '→'),
      h('span', { class: 'mono' }, entry.to ?? '∅'),
    ),
    details.length ? h('div', { class: 'tl-details' }, ...details) : null,
  );
}

function sagaPage(id) {
  const stop = new AbortController();
  let saga = null;
  let graph = null;
  let comp = new Set();
  let newestRev = 0;
  const live = h('span', { class: 'live' }, 'connecting');
  const head = h('div');
  const chart = h('div', { class: 'chart', id: 'statechart' });
  let showAll = false;
  const allToggle = h(
    'label',
    { class: 'subtle toggle' },
    h('input', {
      type: 'checkbox',
      onchange: (e) => {
        showAll = e.target.checked;
        renderChart();
      },
    }),
    ' show every timeout and cancel',
  );
  const timeline = h('ol', { class: 'timeline', id: 'timeline' });
  const contextBox = h('div');
  const letters = h('div', { id: 'dead-letters' });
  view.replaceChildren(h('p', { class: 'subtle' }, 'Loading…'));

  const renderHead = () => {
    const running = !terminal.has(saga.status);
    const cancel = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        hidden: !running,
        onclick: async () => {
          const reason = window.prompt(
            'Cancel this saga? Its machine compensates the steps done.\nReason:',
            'cancelled from the inspector',
          );
          if (reason === null) return;
          try {
            await api(`/v1/sagas/${encodeURIComponent(id)}/cancel`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify(reason ? { reason } : {}),
            });
            toast('Cancel requested');
          } catch (err) {
            toast(explain(err), true);
          }
        },
      },
      'Cancel saga',
    );
    const reasonBox = saga.reason
      ? h(
          'div',
          { class: `reason ${saga.status === 'failed' ? 'failed' : ''}` },
          h('strong', {}, 'Reason: '),
          saga.reason,
        )
      : null;
    const errorBox = saga.error
      ? h('div', { class: 'reason failed' }, h('strong', {}, 'Error: '), saga.error.message)
      : null;
    const fact = (label, value, cls) =>
      h(
        'div',
        {},
        h('dt', {}, label),
        h('dd', { class: cls ?? '', title: String(value ?? '') }, value ?? '—'),
      );
    head.replaceChildren(
      h(
        'div',
        { class: 'page-head' },
        h('a', { href: '#/' }, '← Sagas'),
        h('h1', { class: 'mono' }, saga.sagaId),
        pill(saga.status),
        live,
        h('div', { class: 'grow' }),
        cancel,
      ),
      h(
        'div',
        { class: 'panel' },
        h(
          'dl',
          { class: 'facts' },
          fact('Type', `${saga.type} v${saga.version}`),
          fact('Current state', saga.state, 'mono'),
          fact('Correlation id', saga.correlationId, 'mono'),
          fact('Created', saga.createdAt ? new Date(saga.createdAt).toLocaleString() : null),
          fact(
            'Duration',
            saga.durationMs !== null && saga.durationMs !== undefined
              ? duration(saga.durationMs)
              : `running ${duration(Date.now() - Date.parse(saga.createdAt))}`,
          ),
          fact('Steps', String(saga.history.length)),
        ),
        reasonBox,
        errorBox,
      ),
    );
  };
  const renderChart = () => {
    if (!graph) return;
    const visited = new Set();
    const taken = new Set();
    const retries = new Map();
    for (const e of saga.history) {
      if (e.to) visited.add(e.to);
      if (e.from && e.to && e.from !== e.to) taken.add(`${e.from}->${e.to}`);
      if (e.from && e.from === e.to && e.commands.length) retries.set(e.to, (retries.get(e.to) ?? 0) + 1);
    }
    drawStatechart(chart, graph, {
      current: saga.state,
      status: saga.status,
      visited,
      taken,
      retries,
      all: showAll,
    });
  };
  const renderTimeline = (fresh = new Set()) => {
    timeline.replaceChildren(
      ...saga.history.map((e, i) => timelineItem(e, saga.history[i - 1]?.at, comp, fresh.has(e.rev))),
    );
  };
  const renderContext = () => {
    const timers = saga.timers.length
      ? h(
          'ul',
          {},
          ...saga.timers.map((t) =>
            h('li', {}, h('span', { class: 'mono' }, t.id), ` due ${clock(t.dueAt)}`),
          ),
        )
      : h('p', { class: 'subtle' }, 'No timer armed.');
    const outbox = saga.pendingOutbox.length
      ? h('ul', {}, ...saga.pendingOutbox.map((o) => h('li', { class: 'mono' }, `${o.type} (${o.msgId})`)))
      : h('p', { class: 'subtle' }, 'Nothing waiting to be published.');
    contextBox.replaceChildren(
      h(
        'div',
        { class: 'panel' },
        h('details', { open: true }, h('summary', { class: 'h2' }, 'Context'), json(saga.context)),
      ),
      h(
        'div',
        { class: 'panel' },
        h('details', {}, h('summary', { class: 'h2' }, 'Input'), json(saga.input)),
      ),
      h(
        'div',
        { class: 'panel' },
        h('h2', {}, 'Armed timers'),
        timers,
        h('h2', { style: 'margin-top:12px' }, 'Pending outbox'),
        outbox,
      ),
    );
  };
  const loadLetters = async () => {
    try {
      const page = await api(`/v1/dlq?sagaId=${encodeURIComponent(id)}&limit=50`);
      letters.replaceChildren(
        h('h2', {}, `Dead letters (${page.items.length}${page.nextCursor ? '+' : ''})`),
        ...(page.items.length
          ? page.items.map((d) => deadLetterCard(d, loadLetters))
          : [h('p', { class: 'subtle' }, 'No message of this saga was dead-lettered.')]),
      );
    } catch (err) {
      letters.replaceChildren(h('h2', {}, 'Dead letters'), h('p', { class: 'error-text' }, explain(err)));
    }
  };

  (async () => {
    try {
      saga = await api(`/v1/sagas/${encodeURIComponent(id)}`);
    } catch (err) {
      view.replaceChildren(
        h('div', { class: 'page-head' }, h('a', { href: '#/' }, '← Sagas')),
        h('div', { class: 'panel error-text' }, explain(err)),
      );
      return;
    }
    graph = await api(saga.links.definition).catch(() => null);
    comp = graph ? stateTags(graph) : new Set();
    newestRev = saga.history.at(-1)?.rev ?? 0;
    view.replaceChildren(
      head,
      h(
        'div',
        { class: 'saga-grid' },
        h(
          'div',
          {},
          h(
            'div',
            { class: 'panel' },
            h('div', { class: 'panel-head' }, h('h2', {}, 'Statechart'), allToggle),
            graph
              ? chart
              : h('p', { class: 'subtle' }, 'The definition of this version is not registered on this API.'),
            h(
              'div',
              { class: 'legend' },
              h('span', { class: 'l-current' }, 'current state'),
              h('span', { class: 'l-visited' }, 'visited'),
              h('span', { class: 'l-comp' }, 'compensation'),
            ),
          ),
          h('div', { class: 'panel' }, letters),
          contextBox,
        ),
        h('div', { class: 'panel' }, h('h2', {}, 'Timeline'), timeline),
      ),
    );
    renderHead();
    renderChart();
    renderTimeline();
    renderContext();
    void loadLetters();
    void follow(
      `/v1/sagas/${encodeURIComponent(id)}/events?after=${newestRev}`,
      (event, data) => {
        if (event === 'transition' && data.rev > newestRev) {
          newestRev = data.rev;
          saga.history.push(data);
          renderTimeline(new Set([data.rev]));
          renderChart();
          renderHead();
        } else if (event === 'saga' || event === 'end') {
          Object.assign(saga, {
            status: data.status,
            state: data.state,
            reason: data.reason,
            updatedAt: data.updatedAt,
          });
          renderHead();
          renderChart();
          // The end state's context, duration and dead letters, once.
          if (event === 'end')
            api(`/v1/sagas/${encodeURIComponent(id)}`)
              .then((full) => {
                saga = full;
                renderHead();
                renderChart();
                renderContext();
                void loadLetters();
              })
              .catch(() => undefined);
        }
      },
      stop.signal,
      (on) => {
        live.className = on ? 'live on' : 'live';
        live.textContent = on ? 'live' : terminal.has(saga.status) ? 'ended' : 'reconnecting';
      },
    );
  })();
  return () => stop.abort();
}

// ---------- dead letters ----------
function deadLetterCard(d, reload) {
  const act = (label, cls, fn) =>
    h(
      'button',
      {
        type: 'button',
        class: cls,
        onclick: async (e) => {
          e.target.disabled = true;
          try {
            await fn();
            await reload();
          } catch (err) {
            toast(explain(err), true);
            e.target.disabled = false;
          }
        },
      },
      label,
    );
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

function tryJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function deadLetterPage() {
  let alive = true;
  const list = h('div');
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const filter = { consumer: '', sagaId: '' };
  let cursor = null;
  const query = (after) => {
    const q = new URLSearchParams({ limit: '50' });
    if (filter.consumer) q.set('consumer', filter.consumer);
    if (filter.sagaId) q.set('sagaId', filter.sagaId);
    if (after) q.set('cursor', after);
    return `/v1/dlq?${q}`;
  };
  async function load(append = false) {
    try {
      const page = await api(query(append ? cursor : null));
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
  const field = (name, label, placeholder) =>
    h(
      'label',
      {},
      label,
      h('input', {
        type: 'search',
        placeholder,
        onchange: (e) => {
          filter[name] = e.target.value.trim();
          void load();
        },
      }),
    );
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

adoptTokenFromUrl();
renderSession();
window.addEventListener('hashchange', route);
route();
