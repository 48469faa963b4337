// @ts-check
/* global window, document */
// Draws a saga's statechart (GET .../definition) as SVG, laid out with dagre (served locally).
import { curve, el } from './svg.js';

/** @typedef {import('./model.js').MachineGraph} MachineGraph */
/** @typedef {import('./model.js').MachineState} MachineState */
/** @typedef {import('./model.js').MachineTransition} MachineTransition */
/** @typedef {import('@dagrejs/dagre').Point} Point */

/**
 * The layout's nodes: a compound state drawn as a box around its children, a state, the start dot.
 * @typedef {{ cluster: true, start?: undefined, label: string, paddingTop: number, paddingLeft: number, paddingRight: number, paddingBottom: number }} ClusterNode
 * @typedef {{ cluster?: undefined, start?: undefined, label: string, width: number, height: number, state: MachineState }} StateNode
 * @typedef {{ cluster?: undefined, start: true, width: number, height: number }} StartNode
 * @typedef {ClusterNode | StateNode | StartNode} ChartNode
 * @typedef {ChartNode & { x: number, y: number, width: number, height: number }} PlacedNode
 *   where dagre.layout put it (clusters get their size there too)
 *
 * The layout's edges: the start arrow, and one per (source, target) with its triggers.
 * @typedef {{ kind: 'start', width: number, height: number }} StartEdge
 * @typedef {{ kind?: undefined, key: string, label: string, kinds: Set<string>, hidden: boolean, width: number, height: number, labelpos: 'c' }} MoveEdge
 * @typedef {StartEdge | MoveEdge} ChartEdge
 * @typedef {ChartEdge & { points: Point[], x: number, y: number }} PlacedEdge
 *
 * @typedef {object} ChartView what to highlight
 * @property {string | null} current the saga's state
 * @property {string} status the saga's status
 * @property {Set<string>} visited the states it was in
 * @property {Set<string>} taken the moves it made, `source->target`
 * @property {Map<string, number>} retries how often a state was re-entered with commands (a resend)
 * @property {boolean} all `false` leaves out timeouts and cancels that this saga did not take,
 *   which keeps the drawing readable
 */

/** @returns {typeof import('@dagrejs/dagre').default} dagre, which /ui/dagre.js (a classic script) puts on window */
const dagreLib = () => Reflect.get(window, 'dagre');

const statusWords = new Set(['completed', 'compensated', 'failed', 'cancelled']);

/**
 * @param {string} text
 * @param {number} px
 */
const textWidth = (text, px) => Math.ceil(text.length * px * 0.58) + 2;

/** @param {MachineTransition} t */
function edgeLabel(t) {
  if (t.kind === 'after') return `after ${t.delay}`;
  if (t.kind === 'always') return t.guard ? `[${t.guard}]` : 'always';
  if (t.event === 'saga.cancel') return 'cancel';
  return t.event ?? '';
}

/**
 * The atomic state a transition really enters: a compound target enters its initial child.
 * @param {string} id
 * @param {Map<string, MachineState>} byId
 */
function resolveTarget(id, byId) {
  let state = byId.get(id);
  for (let i = 0; state && state.initial && i < 20; i++) state = byId.get(state.initial);
  return state ? state.id : id;
}

/**
 * Replaces what `container` holds with the drawing.
 * @param {HTMLElement} container
 * @param {MachineGraph} graph
 * @param {ChartView} view
 */
export function drawStatechart(container, graph, view) {
  const dagre = dagreLib();
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  const root = graph.states.find((s) => s.parent === null);
  /** @type {Set<string>} */
  const compTags = new Set();
  for (const s of graph.states) {
    /** @type {MachineState | undefined} */
    let p = s;
    while (p) {
      if (p.tags.includes('compensating')) compTags.add(s.id);
      p = p.parent !== null ? byId.get(p.parent) : undefined;
    }
  }

  /** @type {import('@dagrejs/dagre').Graph<import('@dagrejs/dagre').GraphLabel, ChartNode, ChartEdge>} */
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 26, ranksep: 38, edgesep: 10, marginx: 14, marginy: 14 });
  g.setDefaultEdgeLabel(() => /** @type {ChartEdge} */ ({}));
  for (const s of graph.states) {
    if (s === root) continue;
    if (s.kind === 'compound' || s.kind === 'parallel') {
      g.setNode(s.id, {
        label: s.key,
        cluster: true,
        paddingTop: 30,
        paddingLeft: 14,
        paddingRight: 14,
        paddingBottom: 14,
      });
    } else {
      const retry = view.retries.get(s.id) ?? 0;
      const w = Math.max(textWidth(s.key, 12.5), retry ? textWidth(`↻ ×${retry}`, 10.5) : 0);
      g.setNode(s.id, { label: s.key, width: w + 28, height: retry ? 44 : 34, state: s });
    }
    if (s.parent && s.parent !== root?.id) g.setParent(s.id, s.parent);
  }
  if (root?.initial) {
    g.setNode('__start', { width: 12, height: 12, start: true });
    g.setEdge('__start', resolveTarget(root.initial, byId), { kind: 'start', width: 0, height: 0 }, 'start');
  }
  // One drawn edge per (source, target), labels merged: a statechart often has several triggers for one move.
  /** @type {Map<string, { source: string, target: string, labels: string[], kinds: Set<string>, hidden: boolean }>} */
  const merged = new Map();
  for (const t of graph.transitions) {
    const source = byId.get(t.source);
    if (!source || source.kind === 'compound') continue;
    for (const raw of t.targets) {
      const target = resolveTarget(raw, byId);
      if (target === t.source) continue; // re-entry (a resend on timeout): shown as ↻ on the state
      const key = `${t.source}->${target}`;
      const minor = t.kind === 'after' || t.event === 'saga.cancel';
      // Left out of the drawing, kept in the layout: states stay where they are when toggled.
      const hidden = minor && !view.all && !view.taken.has(key);
      const entry = merged.get(key) ?? {
        source: t.source,
        target,
        labels: [],
        kinds: new Set(),
        hidden: true,
      };
      entry.hidden = entry.hidden && hidden;
      // A taken timeout may share its edge with an event: name only what is shown.
      if (!hidden) {
        const label = edgeLabel(t);
        if (!entry.labels.includes(label)) entry.labels.push(label);
        entry.kinds.add(t.event === 'saga.cancel' ? 'cancel' : t.kind);
      }
      merged.set(key, entry);
    }
  }
  for (const [key, e] of merged) {
    const label = e.hidden ? '' : e.labels.join(' / ');
    g.setEdge(
      e.source,
      e.target,
      {
        key,
        label,
        kinds: e.kinds,
        hidden: e.hidden,
        width: e.hidden ? 0 : textWidth(label, 11),
        height: e.hidden ? 0 : 14,
        labelpos: 'c',
      },
      key,
    );
  }
  dagre.layout(g);

  const { width, height } = /** @type {{ width: number, height: number }} */ (g.graph());
  const svg = el('svg', {
    viewBox: `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`,
    width: Math.ceil(width),
    role: 'img',
    'aria-label': `statechart of ${graph.type} v${graph.version}`,
  });
  const defs = el('defs');
  for (const [id, color] of [
    ['arrow', '#a3a9bd'],
    ['arrow-taken', '#4f46e5'],
  ]) {
    defs.append(
      el(
        'marker',
        {
          id,
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto-start-reverse',
        },
        el('path', { d: 'M0,0 L10,5 L0,10 z', fill: color }),
      ),
    );
  }
  svg.append(defs);

  /** @param {string} id */
  const placed = (id) => /** @type {PlacedNode} */ (g.node(id));
  for (const id of g.nodes()) {
    const n = placed(id);
    if (!n.cluster) continue;
    const cls = compTags.has(id) ? 'sc-cluster comp' : 'sc-cluster';
    svg.append(
      el(
        'g',
        { class: cls, 'data-state': id },
        el('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 12 }),
        el(
          'text',
          { x: n.x - n.width / 2 + 12, y: n.y - n.height / 2 + 19 },
          document.createTextNode(n.label),
        ),
      ),
    );
  }

  for (const e of g.edges()) {
    const d = /** @type {PlacedEdge} */ (g.edge(e));
    if (d.kind === 'start') {
      svg.append(
        el('g', { class: 'sc-edge' }, el('path', { d: curve(d.points), 'marker-end': 'url(#arrow)' })),
      );
      continue;
    }
    if (d.hidden) continue;
    const taken = view.taken.has(d.key);
    const classes = ['sc-edge', ...d.kinds].concat(taken ? ['taken'] : []).join(' ');
    const group = el(
      'g',
      { class: classes, 'data-edge': d.key },
      el('path', { d: curve(d.points), 'marker-end': taken ? 'url(#arrow-taken)' : 'url(#arrow)' }),
    );
    if (d.label)
      group.append(
        el('text', { x: d.x, y: d.y + 4, 'text-anchor': 'middle' }, document.createTextNode(d.label)),
      );
    svg.append(group);
  }

  for (const id of g.nodes()) {
    const n = placed(id);
    if (n.cluster) continue;
    if (n.start) {
      svg.append(el('circle', { class: 'sc-initial', cx: n.x, cy: n.y, r: 6 }));
      continue;
    }
    const s = n.state;
    const classes = ['sc-node'];
    if (s.kind === 'final') classes.push('final');
    if (statusWords.has(s.key)) classes.push(s.key);
    if (compTags.has(s.id)) classes.push('comp');
    if (view.visited.has(s.id)) classes.push('visited');
    if (view.current === s.id) {
      classes.push('current');
      classes.push(['running', 'compensating'].includes(view.status) ? 'running' : 'ended');
      classes.push(view.status === 'failed' ? 'failed-state' : view.status);
    }
    const retry = view.retries.get(s.id) ?? 0;
    const group = el(
      'g',
      { class: classes.join(' '), 'data-state': s.id },
      el('title', {}, document.createTextNode(s.id + (s.description ? ` — ${s.description}` : ''))),
      el('rect', {
        x: n.x - n.width / 2,
        y: n.y - n.height / 2,
        width: n.width,
        height: n.height,
        rx: s.kind === 'final' ? 17 : 8,
      }),
      el(
        'text',
        { x: n.x, y: n.y + (retry ? -2 : 4.5), 'text-anchor': 'middle' },
        document.createTextNode(s.key),
      ),
    );
    if (retry)
      group.append(
        el(
          'text',
          { class: 'retry', x: n.x, y: n.y + 13, 'text-anchor': 'middle' },
          document.createTextNode(`↻ resent ×${retry}`),
        ),
      );
    svg.append(group);
  }
  container.replaceChildren(svg);
}
