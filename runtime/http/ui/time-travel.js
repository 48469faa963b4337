// @ts-check
/* global document, HTMLElement */
// Time travel on a saga's page: choose a revision of its history (slider, buttons, a click on the
// timeline, ← → Home End, Esc for now) and see the saga as it was after that transition: the
// statechart's highlighted state, the context, the commands and timers of that step.
import { api, explain } from './api.js';
import { h, json, pill } from './dom.js';
import { clock } from './format.js';

/** @typedef {import('./model.js').SagaReplay} SagaReplay */
/** @typedef {import('./model.js').Transition} Transition */

/**
 * What the statechart highlights for the saga at revision `rev` (null: as it is now, `now`): the
 * state and status after that transition, the states visited and the moves taken up to it.
 * @param {Transition[]} history
 * @param {number | null} rev
 * @param {{ state: string | null, status: string }} now
 */
export function chartAt(history, rev, now) {
  const upTo = rev === null ? history : history.filter((e) => e.rev <= rev);
  /** @type {Set<string>} */
  const visited = new Set();
  /** @type {Set<string>} */
  const taken = new Set();
  /** @type {Map<string, number>} */
  const retries = new Map();
  for (const e of upTo) {
    if (e.to) visited.add(e.to);
    if (e.from && e.to && e.from !== e.to) taken.add(`${e.from}->${e.to}`);
    if (e.from && e.from === e.to && e.commands.length) retries.set(e.to, (retries.get(e.to) ?? 0) + 1);
  }
  const at = rev === null ? null : upTo.at(-1);
  return {
    current: at ? at.to : now.state,
    status: at ? at.status : now.status,
    visited,
    taken,
    retries,
  };
}

/**
 * `xstate.after.stepTimeout.order-fulfillment.x` reads as `stepTimeout`.
 * @param {string} id
 */
const timerName = (id) => /^xstate\.after\.([^.]+)\./.exec(id)?.[1] ?? id;

/**
 * The time travel control of saga `sagaId`. `onChange` runs whenever the chosen revision changes
 * (redraw the chart with `chartAt(history, rev, ...)`). Keys are listened to on the document until
 * `signal` aborts.
 * @param {{ sagaId: string, onChange: (rev: number | null) => void, signal: AbortSignal }} opts
 */
export function timeTravel({ sagaId, onChange, signal }) {
  /** @type {Transition[]} */
  let history = [];
  /** @type {number | null} null: now (following the saga live) */
  let rev = null;
  /** @type {HTMLOListElement | null} */
  let timeline = null;

  const slider = h('input', {
    type: 'range',
    id: 'travel-slider',
    min: 1,
    max: 1,
    step: 1,
    'aria-label': 'revision',
  });
  slider.addEventListener('input', () => select(Number(slider.value)));
  const back = h('button', { type: 'button', title: 'previous revision (←)', onclick: () => step(-1) }, '◀');
  const forward = h('button', { type: 'button', title: 'next revision (→)', onclick: () => step(1) }, '▶');
  const nowButton = h(
    'button',
    { type: 'button', title: 'the saga as it is now (Esc)', onclick: () => select(null) },
    'Now',
  );
  const label = h('span', { class: 'travel-label mono', id: 'travel-label' });
  // The control sits above the statechart, what the step did below it: the chart stays in view.
  const element = h(
    'div',
    { class: 'panel time-travel', id: 'time-travel' },
    h(
      'div',
      { class: 'panel-head' },
      h('h2', {}, 'Time travel'),
      h('span', { class: 'subtle' }, '← → step · Home first · End / Esc now'),
    ),
    h('div', { class: 'travel-bar' }, back, slider, forward, nowButton),
    label,
  );
  const details = h('div', { class: 'panel travel-details', id: 'travel-details', hidden: true });

  const newest = () => history.at(-1)?.rev ?? 0;
  const oldest = () => history[0]?.rev ?? 0;

  /** @param {number | null} next */
  function select(next) {
    const clamped = next === null ? null : Math.min(Math.max(next, oldest()), newest());
    if (clamped === rev) return;
    rev = clamped;
    render();
    onChange(rev);
  }

  /** @param {number} delta */
  function step(delta) {
    if (!history.length) return;
    // From now, one step back is the revision before the newest: now already shows the newest.
    const from = rev ?? newest();
    const next = from + delta;
    if (next > newest()) select(null);
    else select(Math.max(next, oldest()));
  }

  function markTimeline() {
    if (!timeline) return;
    for (const li of timeline.querySelectorAll('li.travel-at')) li.classList.remove('travel-at');
    if (rev === null) return;
    // Marked, not scrolled to: scrolling the page would take the statechart out of view.
    timeline.querySelector(`li[data-rev="${rev}"]`)?.classList.add('travel-at');
  }

  function render() {
    element.dataset.rev = rev === null ? 'now' : String(rev);
    slider.max = String(Math.max(newest(), 1));
    slider.min = String(Math.max(oldest(), 1));
    slider.value = String(rev ?? newest());
    slider.disabled = history.length === 0;
    back.disabled = history.length === 0 || (rev !== null && rev <= oldest());
    forward.disabled = rev === null;
    nowButton.disabled = rev === null;
    element.classList.toggle('travelling', rev !== null);
    markTimeline();
    const entry = rev === null ? undefined : history.find((e) => e.rev === rev);
    details.hidden = !entry;
    if (!entry) {
      label.textContent = history.length ? `now · revision ${newest()} of ${newest()}` : 'no transition yet';
      details.replaceChildren();
      return;
    }
    label.textContent = `revision ${entry.rev} of ${newest()} · ${entry.event.type} · ${clock(entry.at)}`;
    details.replaceChildren(
      h('h2', {}, `At revision ${entry.rev}`),
      h(
        'div',
        { class: 'tl-move' },
        h('span', { class: 'mono' }, entry.from ?? '∅'),
        h('span', { class: 'arrow' }, '→'),
        h('span', { class: 'mono', id: 'travel-state' }, entry.to ?? '∅'),
        ' ',
        pill(entry.status),
      ),
      h('h3', {}, 'Commands'),
      entry.commands.length
        ? h(
            'ul',
            { class: 'travel-commands' },
            ...entry.commands.map((c) =>
              h(
                'li',
                {},
                h('span', { class: 'cmd', title: c.msgId }, c.type),
                h('details', {}, h('summary', {}, 'data'), json(c.data)),
              ),
            ),
          )
        : h('p', { class: 'subtle' }, 'None.'),
      h('h3', {}, 'Timers'),
      entry.timers.set.length || entry.timers.cancelled.length
        ? h(
            'ul',
            {},
            ...entry.timers.set.map((t) =>
              h('li', { title: t.id }, `${timerName(t.id)} set, due ${clock(t.dueAt)}`),
            ),
            ...entry.timers.cancelled.map((id) => h('li', { title: id }, `${timerName(id)} cancelled`)),
          )
        : h('p', { class: 'subtle' }, 'None set or cancelled.'),
      h('h3', {}, 'Context after this step'),
      contextOf(entry),
    );
  }

  /** @type {Promise<SagaReplay> | null} asked once, the first time a step without a context is shown */
  let replay = null;

  /**
   * The recorded context; for a step recorded without one, the context that replaying the
   * history through this API's definition gives (what `jetsaga replay` checks), said as such.
   * @param {Transition} entry
   */
  function contextOf(entry) {
    if ('context' in entry) return json(entry.context);
    const omitted = entry.contextOmitted;
    const why = !omitted
      ? 'Not recorded (this step was written before jetsaga kept contexts)'
      : omitted.limit === 0
        ? 'Not recorded (JETSAGA_HISTORY_CONTEXT_BYTES is 0)'
        : `Too large to record (${omitted.bytes} bytes; the limit is ${omitted.limit})`;
    const box = h('div', { class: 'travel-replayed' }, h('p', { class: 'subtle' }, `${why}; replaying…`));
    replay ??= /** @type {Promise<SagaReplay>} */ (api(`/v1/sagas/${encodeURIComponent(sagaId)}/replay`));
    const rev = entry.rev;
    replay.then(
      (r) => {
        const step = r.steps.find((s) => s.rev === rev);
        const parted = r.divergence && r.divergence.rev <= rev ? r.divergence : null;
        box.replaceChildren(
          h(
            'p',
            { class: 'subtle' },
            step && !parted
              ? `${why}; as replayed through this build's definition:`
              : `${why}; replay cannot show it: ${parted?.message ?? 'no such step'}`,
          ),
          step && !parted ? json(step.context) : '',
        );
      },
      (err) => {
        replay = null;
        box.replaceChildren(h('p', { class: 'subtle' }, `${why}; replay failed: ${explain(err)}`));
      },
    );
    return box;
  }

  /** @param {KeyboardEvent} e */
  function onKey(e) {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || !element.isConnected) return;
    const t = e.target;
    // Typing in a field, or a slider that moves itself, keeps its keys.
    if (t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)))
      return;
    if (document.querySelector('dialog[open]')) return;
    /** @type {Record<string, () => void>} */
    const keys = {
      ArrowLeft: () => step(-1),
      ArrowRight: () => step(1),
      Home: () => select(oldest()),
      End: () => select(null),
      Escape: () => select(null),
    };
    const act = keys[e.key];
    if (!act || (e.key === 'Escape' && rev === null)) return;
    e.preventDefault();
    act();
  }
  document.addEventListener('keydown', onKey, { signal });

  return {
    /** The control: slider, buttons, the chosen revision. */
    element,
    /** The chosen step: its move, commands, timers, and the context after it (hidden at now). */
    details,
    /** The chosen revision; null: now. */
    get rev() {
      return rev;
    },
    select,
    /**
     * The history changed (a transition arrived, the saga was reloaded): the chosen revision stays.
     * @param {Transition[]} next
     */
    setHistory(next) {
      history = next;
      render();
    },
    /**
     * Clicking a timeline item travels to its revision; the chosen one is marked.
     * @param {HTMLOListElement} list
     */
    attachTimeline(list) {
      timeline = list;
      list.addEventListener('click', (e) => {
        const target = e.target;
        // Opening an item's event data is not a choice of revision.
        if (!(target instanceof HTMLElement) || target.closest('details')) return;
        const li = target.closest('li[data-rev]');
        if (li instanceof HTMLElement) select(Number(li.dataset.rev));
      });
    },
    /** Re-marks the chosen item after the timeline was redrawn. */
    markTimeline,
  };
}
