// @ts-check
/* global window, AbortController */
// One saga: its facts, statechart, timeline, context and dead letters, followed live through
// its event stream until it ends.
import { api, explain, follow } from './api.js';
import { letterList } from './dead-letters.js';
import { h, json, pill, toast, view } from './dom.js';
import { clock, duration } from './format.js';
import { terminal } from './model.js';
import { drawStatechart } from './statechart.js';
import { chartAt, timeTravel } from './time-travel.js';
import { compensationStates, timelineItem } from './timeline.js';

/** @typedef {import('./model.js').MachineGraph} MachineGraph */
/** @typedef {import('./model.js').Saga} Saga */
/** @typedef {import('./model.js').SagaSummary} SagaSummary */
/** @typedef {import('./model.js').Transition} Transition */

/**
 * Renders the saga into the view once loaded, and follows it.
 * @param {string} id
 * @returns {() => void} stops following
 */
export function sagaPage(id) {
  const stop = new AbortController();
  view.replaceChildren(h('p', { class: 'subtle' }, 'Loading…'));
  (async () => {
    /** @type {Saga} */
    let saga;
    try {
      saga = /** @type {Saga} */ (await api(`/v1/sagas/${encodeURIComponent(id)}`));
    } catch (err) {
      view.replaceChildren(
        h('div', { class: 'page-head' }, h('a', { href: '#/' }, '← Sagas')),
        h('div', { class: 'panel error-text' }, explain(err)),
      );
      return;
    }
    const graph = /** @type {MachineGraph | null} */ (await api(saga.links.definition).catch(() => null));
    show(id, saga, graph, stop.signal);
  })();
  return () => stop.abort();
}

/**
 * @param {string} id
 * @param {Saga} loaded
 * @param {MachineGraph | null} graph its statechart, unless this API does not know its version
 * @param {AbortSignal} signal
 */
function show(id, loaded, graph, signal) {
  let saga = loaded;
  /** @type {Set<string>} */
  const comp = graph ? compensationStates(graph) : new Set();
  let newestRev = saga.history.at(-1)?.rev ?? 0;
  const live = h('span', { class: 'live' }, 'connecting');
  const head = h('div');
  const chart = h('div', { class: 'chart', id: 'statechart' });
  let showAll = false;
  const allBox = h('input', { type: 'checkbox' });
  allBox.addEventListener('change', () => {
    showAll = allBox.checked;
    renderChart();
  });
  const allToggle = h('label', { class: 'subtle toggle' }, allBox, ' show every timeout and cancel');
  const timeline = h('ol', { class: 'timeline', id: 'timeline' });
  const travel = timeTravel({ sagaId: id, onChange: () => renderChart(), signal });
  travel.attachTimeline(timeline);
  const contextBox = h('div');
  const letters = letterList(id);

  const cancelSaga = async () => {
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
  };
  // Resume: for a saga stalled on commands whose resends ran out (an admin token's action).
  const resumeSaga = async () => {
    const what = saga.stalled.map((c) => c.type).join(', ');
    if (!window.confirm(`Send ${what} again and restart its resends?\nDo it once the participant is back.`))
      return;
    try {
      await api(`/v1/sagas/${encodeURIComponent(id)}/resume`, { method: 'POST' });
      saga.stalled = [];
      renderHead();
      toast('Resume requested');
    } catch (err) {
      toast(explain(err), true);
    }
  };
  // The live stream carries summaries only: a step that may stall or resume the saga re-reads it.
  const refreshStalled = () =>
    api(`/v1/sagas/${encodeURIComponent(id)}`)
      .then((full) => {
        saga.stalled = /** @type {Saga} */ (full).stalled ?? [];
        renderHead();
      })
      .catch(() => undefined);
  const renderHead = () => {
    const running = !terminal.has(saga.status);
    const stalled = running && (saga.stalled ?? []).length > 0;
    const resume = h(
      'button',
      {
        type: 'button',
        hidden: !stalled,
        title: 'its resends ran out: send the commands it waits on again',
        onclick: resumeSaga,
      },
      'Resume',
    );
    const cancel = h(
      'button',
      { type: 'button', class: 'danger', hidden: !running, onclick: cancelSaga },
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
    /**
     * @param {string} label
     * @param {string | null} value
     * @param {string} [cls]
     */
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
        resume,
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
              : `running ${duration(Date.now() - Date.parse(saga.createdAt ?? ''))}`,
          ),
          fact('Steps', String(saga.history.length)),
          // An ended saga is deleted after the retention period; absent while running or kept for ever.
          ...(saga.expiresAt ? [fact('Kept until', new Date(saga.expiresAt).toLocaleString())] : []),
        ),
        reasonBox,
        errorBox,
      ),
    );
  };
  const renderChart = () => {
    // The revision time travel chose (chart.dataset.rev), or now.
    chart.dataset.rev = travel.rev === null ? 'now' : String(travel.rev);
    if (!graph) return;
    drawStatechart(chart, graph, { ...chartAt(saga.history, travel.rev, saga), all: showAll });
  };
  /** @param {Set<number>} [fresh] the revisions that just arrived */
  const renderTimeline = (fresh = new Set()) => {
    timeline.replaceChildren(
      ...saga.history.map((e, i) =>
        timelineItem(e, saga.history[i - 1]?.at, comp, fresh.has(e.rev), saga.input),
      ),
    );
    travel.setHistory(saga.history);
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

  view.replaceChildren(
    head,
    h(
      'div',
      { class: 'saga-grid' },
      h(
        'div',
        {},
        travel.element,
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
        travel.details,
        h('div', { class: 'panel' }, letters.element),
        contextBox,
      ),
      h('div', { class: 'panel' }, h('h2', {}, 'Timeline'), timeline),
    ),
  );
  renderHead();
  renderChart();
  renderTimeline();
  renderContext();
  void letters.load();
  void follow(
    `/v1/sagas/${encodeURIComponent(id)}/events?after=${newestRev}`,
    (event, data) => {
      if (event === 'transition') {
        const entry = /** @type {Transition} */ (data);
        if (entry.rev <= newestRev) return;
        newestRev = entry.rev;
        saga.history.push(entry);
        renderTimeline(new Set([entry.rev]));
        renderChart();
        renderHead();
        if (entry.event.type === 'saga.timer' || entry.event.type === 'saga.resume') void refreshStalled();
      } else if (event === 'saga' || event === 'end') {
        const summary = /** @type {SagaSummary} */ (data);
        Object.assign(saga, {
          status: summary.status,
          state: summary.state,
          reason: summary.reason,
          updatedAt: summary.updatedAt,
        });
        renderHead();
        renderChart();
        // The end state's context, duration and dead letters, once.
        if (event === 'end')
          api(`/v1/sagas/${encodeURIComponent(id)}`)
            .then((full) => {
              saga = /** @type {Saga} */ (full);
              travel.setHistory(saga.history);
              renderHead();
              renderChart();
              renderContext();
              void letters.load();
            })
            .catch(() => undefined);
      }
    },
    signal,
    (on) => {
      live.className = on ? 'live on' : 'live';
      live.textContent = on ? 'live' : terminal.has(saga.status) ? 'ended' : 'reconnecting';
    },
  );
}
