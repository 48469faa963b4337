/* global dagre, document */
// Draws a saga's statechart (GET .../definition) as SVG, laid out with dagre (served locally).

const SVG = 'http://www.w3.org/2000/svg';
const statusWords = new Set(['completed', 'compensated', 'failed', 'cancelled']);

function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs))
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children) if (c) node.append(c);
  return node;
}

const textWidth = (text, px) => Math.ceil(text.length * px * 0.58) + 2;

function edgeLabel(t) {
  if (t.kind === 'after') return `after ${t.delay}`;
  if (t.kind === 'always') return t.guard ? `[${t.guard}]` : 'always';
  if (t.event === 'saga.cancel') return 'cancel';
  return t.event ?? '';
}

/** The atomic state a transition really enters: a compound target enters its initial child. */
function resolveTarget(id, byId) {
  let state = byId.get(id);
  for (let i = 0; state && state.initial && i < 20; i++) state = byId.get(state.initial);
  return state ? state.id : id;
}

/** A smooth path through dagre's edge points. */
function curve(points) {
  const [first, ...rest] = points;
  let d = `M${first.x},${first.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i];
    const n = rest[i + 1];
    d += ` Q${p.x},${p.y} ${(p.x + n.x) / 2},${(p.y + n.y) / 2}`;
  }
  const last = rest.at(-1);
  if (last) d += ` L${last.x},${last.y}`;
  return d;
}

/**
 * @param {HTMLElement} container
 * @param {{ states: any[], transitions: any[] }} graph
 * @param {{ current: string|null, status: string, visited: Set<string>, taken: Set<string>, retries: Map<string, number>, all: boolean }} view
 *   `all: false` leaves out timeouts and cancels that this saga did not take, which keeps the drawing readable.
 */
export function drawStatechart(container, graph, view) {
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  const root = graph.states.find((s) => s.parent === null);
  const compTags = new Set();
  for (const s of graph.states) {
    let p = s;
    while (p) {
      if (p.tags.includes('compensating')) compTags.add(s.id);
      p = p.parent !== null ? byId.get(p.parent) : undefined;
    }
  }

  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 26, ranksep: 38, edgesep: 10, marginx: 14, marginy: 14 });
  g.setDefaultEdgeLabel(() => ({}));
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
  const merged = new Map();
  for (const t of graph.transitions) {
    if (!byId.has(t.source) || byId.get(t.source).kind === 'compound') continue;
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

  const { width, height } = g.graph();
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

  for (const id of g.nodes()) {
    const n = g.node(id);
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
    const d = g.edge(e);
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
    const n = g.node(id);
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
