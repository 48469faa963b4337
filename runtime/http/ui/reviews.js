// @ts-check
/* global document, crypto, setInterval, clearInterval, HTMLTextAreaElement */
// The Reviews view: the sagas waiting for a person in a `reviewing` state, oldest first, each with
// the case its context keeps (`review`: amount, score, threshold, reasons, recent payments) and
// Approve / Reject buttons that send the `approve-review` / `reject-review` signal with a note.
// The runtime knows no orders: any saga type that waits in `reviewing` with a `review` in its
// context and declares those two signals shows up here.
import { api, ApiError, explain } from './api.js';
import { h, toast, view } from './dom.js';
import { ago } from './format.js';

/** @typedef {import('./model.js').SagaSummary} SagaSummary */

/**
 * @typedef {object} RecentPayment
 * @property {string} paymentId
 * @property {string} at
 * @property {number} amountUsd
 * @property {boolean} sameCard
 * @property {boolean} sameAddress
 * @property {string | null} ipCountry
 * @property {string} shippingCountry
 *
 * @typedef {object} ReviewCase what the saga's context keeps of the case
 * @property {number} score
 * @property {number} threshold
 * @property {string[]} reasons
 * @property {string} [customerId]
 * @property {number} [amount]
 * @property {string} [currency]
 * @property {[number, number]} [reviewBand]
 * @property {RecentPayment[]} [recentPayments]
 *
 * @typedef {SagaSummary & { context?: { review?: ReviewCase | null } | null }} WaitingSaga
 *
 * @typedef {{ caller: string, scope: 'read' | 'write' | 'admin', auth: 'tokens' | 'off' }} Session
 */

/** The queue's query: every saga waiting in `reviewing`, oldest first, with its context. */
export const reviewsQuery = '/v1/sagas?state=reviewing&order=oldest&include=context&limit=100';

/** The signals a decision sends. */
const decisions = /** @type {const} */ ({
  approve: { signal: 'approve-review', done: 'Approved' },
  reject: { signal: 'reject-review', done: 'Rejected' },
});

/**
 * @param {number | undefined} amount
 * @param {string | undefined} currency
 */
const money = (amount, currency) =>
  amount === undefined
    ? '—'
    : amount.toLocaleString(undefined, { style: 'currency', currency: currency ?? 'USD' });

/** @param {RecentPayment[]} payments */
function recentTable(payments) {
  if (payments.length === 0) return h('p', { class: 'subtle' }, 'No earlier payments in the last 30 days.');
  return h(
    'table',
    { class: 'recent' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'When'),
        h('th', {}, 'Amount'),
        h('th', {}, 'Card'),
        h('th', {}, 'Ship to / IP'),
      ),
    ),
    h(
      'tbody',
      {},
      ...payments.map((p) =>
        h(
          'tr',
          {},
          h('td', { title: p.at }, ago(p.at)),
          h('td', { class: 'num' }, money(p.amountUsd, 'USD')),
          h('td', {}, p.sameCard ? 'same card' : h('strong', {}, 'other card')),
          h(
            'td',
            {},
            `${p.shippingCountry}${p.sameAddress ? '' : ' (other address)'} / ${p.ipCountry ?? '?'}`,
          ),
        ),
      ),
    ),
  );
}

/**
 * One case: its facts, and the decision form.
 * @param {WaitingSaga} saga
 * @param {Session | null} session
 * @param {(sagaId: string) => void} onDecided
 */
function reviewCard(saga, session, onDecided) {
  const review = saga.context?.review ?? null;
  const canWrite = session !== null && session.scope !== 'read';
  const note = h('textarea', {
    name: 'note',
    rows: 2,
    maxlength: 500,
    placeholder: 'Note for the timeline (why)',
    'aria-label': 'note',
  });
  // One key per decision taken in this card: a click that times out and is clicked again is the
  // same signal, not a second one.
  const keys = { approve: crypto.randomUUID(), reject: crypto.randomUUID() };
  /** @param {'approve' | 'reject'} kind */
  const decide = async (kind) => {
    for (const b of buttons) b.disabled = true;
    try {
      await api(`/v1/sagas/${encodeURIComponent(saga.sagaId)}/signals/${decisions[kind].signal}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': keys[kind] },
        body: JSON.stringify({ note: note instanceof HTMLTextAreaElement ? note.value : '' }),
      });
      toast(`${decisions[kind].done}: ${saga.sagaId}`);
      onDecided(saga.sagaId);
    } catch (err) {
      toast(explain(err), true);
      // Decided meanwhile (another reviewer, the deadline): the queue no longer holds it.
      if (err instanceof ApiError && err.status === 409) onDecided(saga.sagaId);
      else for (const b of buttons) b.disabled = !canWrite;
    }
  };
  const why = canWrite ? null : 'needs a token with the write scope';
  const buttons = [
    h(
      'button',
      { type: 'button', class: 'primary', disabled: !canWrite, title: why, onclick: () => decide('approve') },
      'Approve',
    ),
    h(
      'button',
      { type: 'button', class: 'danger', disabled: !canWrite, title: why, onclick: () => decide('reject') },
      'Reject',
    ),
  ];
  const band = review?.reviewBand ? ` · band [${review.reviewBand[0]}, ${review.reviewBand[1]})` : '';
  return h(
    'article',
    { class: 'panel review', 'data-saga': saga.sagaId },
    h(
      'div',
      { class: 'review-head' },
      h('a', { class: 'mono', href: `#/sagas/${encodeURIComponent(saga.sagaId)}` }, saga.sagaId),
      h('span', { class: 'review-amount' }, money(review?.amount, review?.currency)),
      review?.customerId ? h('span', { class: 'subtle' }, `customer ${review.customerId}`) : null,
      h('span', { class: 'grow' }),
      h('span', { class: 'subtle', title: saga.createdAt ?? '' }, `waiting since ${ago(saga.createdAt)}`),
    ),
    review
      ? h(
          'div',
          { class: 'review-body' },
          h(
            'div',
            {},
            h(
              'div',
              { class: 'review-score' },
              h('span', { class: 'tag verdict-review' }, `score ${review.score.toFixed(3)}`),
              h('span', { class: 'subtle' }, ` threshold ${review.threshold}${band}`),
            ),
            h('ul', { class: 'reasons' }, ...review.reasons.map((r) => h('li', {}, r))),
          ),
          h('div', {}, h('h3', {}, 'Recent payments'), recentTable(review.recentPayments ?? [])),
        )
      : h('p', { class: 'subtle' }, 'This saga keeps no review case in its context.'),
    h('div', { class: 'review-decide' }, note, ...buttons),
  );
}

/**
 * Renders the queue into the view and keeps it current (new cases added, decided ones removed;
 * a case being written about is left alone).
 * @returns {() => void} stops it
 */
export function reviewsPage() {
  let alive = true;
  /** @type {Session | null} */
  let session = null;
  const list = h('div', { class: 'reviews', id: 'reviews' });
  const empty = h('p', { class: 'panel subtle', hidden: true }, 'Nothing waits for a review.');
  const scopeNote = h('p', { class: 'subtle', hidden: true });
  view.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Reviews'),
      h('span', { class: 'subtle' }, 'sagas waiting for a person, oldest first'),
    ),
    scopeNote,
    empty,
    list,
  );
  /** @type {Map<string, HTMLElement>} */
  const shown = new Map();
  /** @param {string} sagaId */
  const decided = (sagaId) => {
    shown.get(sagaId)?.remove();
    shown.delete(sagaId);
    empty.hidden = shown.size > 0;
  };
  const load = async () => {
    try {
      session ??= /** @type {Session} */ (await api('/v1/session'));
      scopeNote.hidden = session.scope !== 'read';
      scopeNote.textContent = `Signed in as ${session.caller} (read scope): deciding needs a token with the write scope.`;
      const page = /** @type {{ items: WaitingSaga[] }} */ (await api(reviewsQuery));
      if (!alive) return;
      const ids = new Set(page.items.map((s) => s.sagaId));
      for (const id of [...shown.keys()]) if (!ids.has(id)) decided(id);
      for (const saga of page.items) {
        if (shown.has(saga.sagaId)) continue;
        const card = reviewCard(saga, session, decided);
        shown.set(saga.sagaId, card);
        list.append(card);
      }
      empty.hidden = shown.size > 0;
    } catch (err) {
      if (alive) toast(explain(err), true);
    }
  };
  void load();
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') void load();
  }, 3000);
  return () => {
    alive = false;
    clearInterval(timer);
  };
}
