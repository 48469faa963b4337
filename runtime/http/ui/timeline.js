// @ts-check
// A saga's timeline: one item per transition, with its commands, timers, verdicts and errors.
import { h, json, pill } from './dom.js';
import { between, clock, duration } from './format.js';
import { terminal } from './model.js';

/** @typedef {import('./model.js').MachineGraph} MachineGraph */
/** @typedef {import('./model.js').MachineState} MachineState */
/** @typedef {import('./model.js').Transition} Transition */

/**
 * The ids of the states in compensation: tagged `compensating`, or inside a state that is.
 * @param {MachineGraph} graph
 * @returns {Set<string>}
 */
export function compensationStates(graph) {
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  /** @type {Set<string>} */
  const comp = new Set();
  for (const s of graph.states) {
    /** @type {MachineState | undefined} */
    let p = s;
    for (; p; p = p.parent !== null ? byId.get(p.parent) : undefined)
      if (p.tags.includes('compensating')) comp.add(s.id);
  }
  return comp;
}

/** @param {unknown} value */
const isRecord = (value) =>
  value !== null && typeof value === 'object' ? /** @type {Record<string, unknown>} */ (value) : null;

/**
 * A verdict (the fraud agent's, or any scorer's): `fraud.flagged` with score, threshold, reasons.
 * @param {unknown} eventData
 * @param {string} eventType
 */
function verdictOf(eventData, eventType) {
  const data = isRecord(eventData);
  if (!data) return null;
  const fromType = /^fraud\.(.+)$/.exec(eventType)?.[1] ?? null;
  const verdict = data.verdict ?? data.decision ?? fromType;
  const reasons = Array.isArray(data.reasons) ? /** @type {unknown[]} */ (data.reasons) : null;
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

/** A signal's verb as done: `approve-review` by alice reads "approved by alice". */
const signalVerbs = /** @type {Record<string, string>} */ ({
  approve: 'approved',
  reject: 'rejected',
  confirm: 'confirmed',
  cancel: 'cancelled',
  escalate: 'escalated',
});

/**
 * A signal step (`saga.signal.<name>`, data `{ by, data }`) in words: "approved by alice: the note".
 * @param {string} eventType
 * @param {Record<string, unknown> | null} data
 */
function signalOf(eventType, data) {
  const name = /^saga\.signal\.(.+)$/.exec(eventType)?.[1];
  if (name === undefined || !data) return null;
  const by = typeof data.by === 'string' ? data.by : 'unknown';
  const body = isRecord(data.data);
  const verb = name.split('-')[0] ?? name;
  const said = body?.note ?? body?.reason ?? body?.comment;
  return {
    name,
    text: `${signalVerbs[verb] ?? name} by ${by}`,
    note: typeof said === 'string' && said !== '' ? said : null,
    bad: verb === 'reject' || verb === 'cancel',
  };
}

/**
 * `xstate.after.stepTimeout.order-fulfillment.reservingInventory` reads as `stepTimeout`.
 * @param {string} id
 */
function timerName(id) {
  const m = /^xstate\.after\.([^.]+)\./.exec(id);
  return m?.[1] ?? id;
}

/**
 * Why a saga was started, when whoever started it said so in its input: `recommendation` with
 * `reasons` (an agent's recommendation, as the restock agent gives), shown on the start like a verdict.
 * @param {unknown} input
 */
function recommendationOf(input) {
  const rec = isRecord(isRecord(input)?.recommendation);
  if (!rec || !Array.isArray(rec.reasons)) return null;
  return {
    reasons: /** @type {unknown[]} */ (rec.reasons),
    model: typeof rec.modelVersion === 'string' ? rec.modelVersion : null,
  };
}

/**
 * @param {Transition} entry
 * @param {string | null | undefined} previousAt when the step before it happened
 * @param {Set<string>} comp the states in compensation
 * @param {boolean} isNew just arrived: it gets highlighted
 * @param {unknown} [input] the saga's input: its start shows the recommendation it carries
 */
export function timelineItem(entry, previousAt, comp, isNew, input) {
  const toComp = entry.to !== null && comp.has(entry.to);
  const classes = ['tl-item'];
  if (toComp) classes.push('comp');
  if (terminal.has(entry.status)) classes.push(`end-${entry.status}`);
  if (isNew) classes.push('new');
  const data = isRecord(entry.event.data);
  const tags = [];
  if (entry.event.type === 'saga.started') tags.push(h('span', { class: 'tag' }, 'start'));
  if (entry.event.type === 'saga.timer') tags.push(h('span', { class: 'tag timer' }, 'timer fired'));
  if (entry.event.type === 'saga.cancel') tags.push(h('span', { class: 'tag error' }, 'cancel requested'));
  const signal = signalOf(entry.event.type, data);
  if (signal) tags.push(h('span', { class: 'tag signal' }, `signal ${signal.name}`));
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
        ` ${timerName(t.id)} armed, fires in ${duration(between(entry.at, t.dueAt))}`,
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
  if (signal)
    details.push(
      h(
        'div',
        { class: 'signal-line' },
        h('span', { class: `tag ${signal.bad ? 'verdict-bad' : 'verdict-ok'}` }, signal.text),
        signal.note ? `: ${signal.note}` : '',
      ),
    );
  const recommendation = entry.event.type === 'saga.started' ? recommendationOf(input) : null;
  if (recommendation)
    details.push(
      h(
        'div',
        {},
        h('span', { class: 'tag verdict-review' }, 'recommended'),
        recommendation.model ? h('span', { class: 'subtle' }, ` model ${recommendation.model}`) : '',
        h(
          'ul',
          { class: 'reasons' },
          ...recommendation.reasons.map((r) => h('li', {}, typeof r === 'string' ? r : JSON.stringify(r))),
        ),
      ),
    );
  const verdict = signal ? null : verdictOf(data, entry.event.type);
  if (verdict) {
    const bad = /flag|reject|decline|deny/i.test(String(verdict.verdict ?? ''));
    const review = verdict.verdict === 'review';
    details.push(
      h(
        'div',
        {},
        h(
          'span',
          { class: `tag ${review ? 'verdict-review' : bad ? 'verdict-bad' : 'verdict-ok'}` },
          review ? 'verdict: manual review' : `verdict: ${verdict.verdict ?? '?'}`,
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
  const problem = data ? (data.error ?? (verdict ? null : data.reason)) : null;
  if (problem)
    details.push(
      h(
        'div',
        {},
        h('span', { class: 'tag error' }, 'error'),
        ` ${typeof problem === 'string' ? problem : JSON.stringify(problem)}`,
      ),
    );
  if (data && Object.keys(data).length)
    details.push(h('details', {}, h('summary', {}, 'event data'), json(data)));
  const delta = previousAt && entry.at ? ` +${duration(between(previousAt, entry.at))}` : '';
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
