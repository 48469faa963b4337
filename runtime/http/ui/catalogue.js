// @ts-check
// The message catalogue: every channel of the app's AsyncAPI document (/asyncapi.json), grouped
// as commands, events, dead letters and saga inputs, each with its message, version, the roles
// that send and receive it, and its schema (collapsed).
import { api, explain } from './api.js';
import { h, json, view } from './dom.js';

/**
 * What the page reads of the AsyncAPI document (runtime/contracts/asyncapi.ts).
 * @typedef {{
 *   name?: string,
 *   summary?: string,
 *   description?: string,
 *   payload?: { $ref?: string, properties?: { data?: { $ref?: string } } },
 *   'x-jetsaga-version'?: number,
 *   'x-jetsaga-upcasts-from'?: number[],
 * }} AsyncApiMessage
 * @typedef {{ address: string, description?: string, messages: Record<string, { $ref: string }> }} AsyncApiChannel
 * @typedef {{ action: 'send' | 'receive', channel: { $ref: string }, 'x-jetsaga-role'?: string }} AsyncApiOperation
 * @typedef {{
 *   schema: { $ref: string },
 *   version: number,
 *   upcastsFrom: number[],
 *   sentBy: string[],
 *   receivedBy: string[],
 *   description?: string,
 * }} SagaInput
 * @typedef {{
 *   info: { title: string, version: string },
 *   channels: Record<string, AsyncApiChannel>,
 *   operations: Record<string, AsyncApiOperation>,
 *   components: { schemas: Record<string, unknown>, messages: Record<string, AsyncApiMessage> },
 *   'x-jetsaga-saga-inputs'?: Record<string, SagaInput>,
 * }} AsyncApiDocument
 */

/**
 * The last segment of a local reference: `#/components/messages/inventory.reserve` -> `inventory.reserve`.
 * @param {string | undefined} ref
 */
const refName = (ref) => (ref ?? '').split('/').pop() ?? '';

/**
 * One row of the catalogue.
 * @typedef {object} Row
 * @property {string} channel `cmd.inventory.reserve`, or the saga type of an input
 * @property {string} message
 * @property {number | undefined} version
 * @property {number[]} upcastsFrom
 * @property {string[]} sentBy
 * @property {string[]} receivedBy
 * @property {string | undefined} summary
 * @property {unknown} schema
 */

/**
 * The rows of a document, by group.
 * @param {AsyncApiDocument} doc
 * @returns {Array<{ title: string, note: string, rows: Row[] }>}
 */
export function catalogueRows(doc) {
  /** @type {Record<string, { sentBy: Set<string>, receivedBy: Set<string> }>} */
  const roles = {};
  for (const op of Object.values(doc.operations ?? {})) {
    const channel = refName(op.channel.$ref);
    const role = op['x-jetsaga-role'];
    if (!role) continue;
    const at = (roles[channel] ??= { sentBy: new Set(), receivedBy: new Set() });
    (op.action === 'send' ? at.sentBy : at.receivedBy).add(role);
  }
  /** @type {Row[]} */
  const channelRows = Object.entries(doc.channels ?? {}).map(([id, channel]) => {
    const messageName = refName(Object.values(channel.messages ?? {})[0]?.$ref);
    const message = /** @type {AsyncApiMessage} */ (doc.components?.messages?.[messageName] ?? {});
    const schemaRef = message.payload?.properties?.data?.$ref ?? message.payload?.$ref;
    return {
      channel: channel.address ?? id,
      message: message.name ?? messageName,
      version: message['x-jetsaga-version'],
      upcastsFrom: message['x-jetsaga-upcasts-from'] ?? [],
      sentBy: [...(roles[id]?.sentBy ?? [])].sort(),
      receivedBy: [...(roles[id]?.receivedBy ?? [])].sort(),
      summary: message.description ?? channel.description ?? message.summary,
      schema: schemaRef ? doc.components?.schemas?.[refName(schemaRef)] : message.payload,
    };
  });
  /** @type {Row[]} */
  const inputs = Object.entries(doc['x-jetsaga-saga-inputs'] ?? {}).map(([type, input]) => ({
    channel: type,
    message: `input of ${type}`,
    version: input.version,
    upcastsFrom: input.upcastsFrom,
    sentBy: input.sentBy,
    receivedBy: input.receivedBy,
    summary: `The body of POST /v1/saga-types/${type}/sagas${input.description ? `: ${input.description}` : ''}`,
    schema: doc.components?.schemas?.[refName(input.schema.$ref)],
  }));
  /** @param {string} prefix */
  const on = (prefix) => channelRows.filter((r) => r.channel.startsWith(prefix));
  return [
    { title: 'Commands', note: 'cmd.<service>.<command>, stream SAGA_CMD', rows: on('cmd.') },
    { title: 'Events', note: 'evt.<source>.<event>, stream SAGA_EVT', rows: on('evt.') },
    { title: 'Saga inputs', note: 'start request bodies (HTTP), no subject', rows: inputs },
    { title: 'Dead letters', note: 'dlq.<consumer>, stream SAGA_DLQ', rows: on('dlq.') },
  ];
}

/** @param {string[]} roles */
const roleList = (roles) =>
  roles.length ? roles.map((r) => h('span', { class: 'tag', style: 'margin-right:4px' }, r)) : '—';

/** @param {Row} r */
function rowOf(r) {
  return h(
    'tr',
    { 'data-channel': r.channel },
    h(
      'td',
      {},
      h('div', { class: 'mono' }, r.channel),
      r.summary ? h('div', { class: 'subtle' }, r.summary) : null,
    ),
    h(
      'td',
      {},
      r.version === undefined ? '—' : `v${r.version}`,
      r.upcastsFrom.length ? h('div', { class: 'subtle' }, `upcasts v${r.upcastsFrom.join(', v')}`) : null,
    ),
    h('td', {}, roleList(r.sentBy)),
    h('td', {}, roleList(r.receivedBy)),
    h('td', {}, h('details', {}, h('summary', {}, 'schema'), json(r.schema ?? {}))),
  );
}

/**
 * Renders the catalogue page into the view.
 * @returns {() => void} stops it
 */
export function cataloguePage() {
  let alive = true;
  const body = h('div', { style: 'margin-top:16px' }, h('p', { class: 'subtle' }, 'Loading…'));
  const search = h('input', { type: 'search', placeholder: 'e.g. payment, cmd.inventory' });
  /** @type {AsyncApiDocument | null} */
  let doc = null;
  const render = () => {
    if (!doc) return;
    const needle = search.value.trim().toLowerCase();
    /** @param {Row} r */
    const matches = (r) =>
      !needle ||
      [r.channel, r.message, ...r.sentBy, ...r.receivedBy].some((s) => s.toLowerCase().includes(needle));
    body.replaceChildren(
      ...catalogueRows(doc).map((group) => {
        const rows = group.rows.filter(matches);
        return h(
          'div',
          { class: 'panel', 'data-group': group.title },
          h('h2', {}, `${group.title} (${rows.length})`, ' ', h('span', { class: 'subtle' }, group.note)),
          rows.length
            ? h(
                'table',
                {},
                h(
                  'thead',
                  {},
                  h(
                    'tr',
                    {},
                    h('th', {}, 'Channel'),
                    h('th', {}, 'Version'),
                    h('th', {}, 'Sent by'),
                    h('th', {}, 'Received by'),
                    h('th', {}, 'Schema'),
                  ),
                ),
                h('tbody', {}, rows.map(rowOf)),
              )
            : h('p', { class: 'subtle' }, 'None.'),
        );
      }),
    );
  };
  search.addEventListener('input', render);
  view.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Message catalogue'),
      h('span', { class: 'grow' }),
      h('a', { href: '/asyncapi.json', target: '_blank', rel: 'noopener' }, 'AsyncAPI document'),
    ),
    h(
      'div',
      { class: 'panel' },
      h(
        'p',
        { class: 'subtle', style: 'margin-top:0' },
        'Every message the roles exchange, with the version producers stamp now, the older versions receivers upcast, and who sends and receives it. Generated from the zod schemas the runtime validates with.',
      ),
      h('div', { class: 'filters' }, h('label', {}, 'Search', search)),
    ),
    body,
  );
  void (async () => {
    try {
      const loaded = /** @type {AsyncApiDocument} */ (await api('/asyncapi.json'));
      if (!alive) return;
      doc = loaded;
      render();
    } catch (err) {
      if (alive) body.replaceChildren(h('p', { class: 'error-text' }, explain(err)));
    }
  })();
  return () => {
    alive = false;
  };
}
