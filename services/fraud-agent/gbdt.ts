/**
 * Gradient-boosted decision trees for binary classification (logistic loss, Newton
 * steps, L2-regularised leaves, histogram split finding), the algorithm of XGBoost and
 * LightGBM in a few hundred lines, so that training and serving need nothing but Node.
 * Training is deterministic: no sampling, ties broken by feature then bin order.
 */

/** One tree as arrays: node i splits on feature `f[i]` at `x <= t[i]` (left) or is a leaf (`f[i] = -1`). */
export interface Tree {
  f: number[];
  t: number[];
  l: number[];
  r: number[];
  /** Every node's Newton value (scaled by the learning rate); a leaf's is its output. */
  v: number[];
}

export interface GbdtModel {
  /** Log-odds of the base rate. */
  base: number;
  trees: Tree[];
}

export interface TrainOptions {
  rounds: number;
  learningRate: number;
  maxDepth: number;
  /** Least hessian sum in a child (XGBoost's min_child_weight). */
  minChildWeight: number;
  minLeafRows: number;
  lambda: number;
  maxBins: number;
  /** Stop when validation log loss has not improved for this many rounds. */
  patience: number;
}

/** Rows as columns: `columns[feature][row]`. */
export interface Dataset {
  columns: Float64Array[];
  labels: Uint8Array;
}

export const sigmoid = (m: number) => 1 / (1 + Math.exp(-m));

export function predictMargin(model: GbdtModel, x: ArrayLike<number>): number {
  let m = model.base;
  for (const t of model.trees) {
    let n = 0;
    while (t.f[n]! >= 0) n = x[t.f[n]!]! <= t.t[n]! ? t.l[n]! : t.r[n]!;
    m += t.v[n]!;
  }
  return m;
}

export const predict = (model: GbdtModel, x: ArrayLike<number>) => sigmoid(predictMargin(model, x));

/**
 * A model packed for serving: every node of every tree in one array, five numbers per node
 * (feature, threshold, left, right, value; children as absolute node numbers, a leaf's feature
 * -1), trees one after another, walked once for the margin and its explanation together. The
 * JSON shape (five arrays per tree, 875 for the shipped model) was walked twice and touched a line
 * of each array, and a fraud agent between two payments has them out of cache: 80 against 40 µs
 * per payment with the caches flushed, 15 against 9 µs without (bench/JOURNAL.md, tenth pass).
 */
export interface CompiledModel {
  base: number;
  nodes: Float64Array;
  /** The node number of each tree's root. */
  roots: Int32Array;
}

const STRIDE = 5;

export function compileModel(model: GbdtModel): CompiledModel {
  const total = model.trees.reduce((n, t) => n + t.f.length, 0);
  const nodes = new Float64Array(total * STRIDE);
  const roots = new Int32Array(model.trees.length);
  let at = 0;
  model.trees.forEach((t, k) => {
    roots[k] = at;
    for (let n = 0; n < t.f.length; n++) {
      const o = (at + n) * STRIDE;
      nodes[o] = t.f[n]!;
      nodes[o + 1] = t.t[n]!;
      nodes[o + 2] = t.f[n]! >= 0 ? at + t.l[n]! : -1;
      nodes[o + 3] = t.f[n]! >= 0 ? at + t.r[n]! : -1;
      nodes[o + 4] = t.v[n]!;
    }
    at += t.f.length;
  });
  return { base: model.base, nodes, roots };
}

/**
 * The margin and its per-feature contributions to the log-odds along each tree's decision path
 * (Saabas: every split credits its feature with the change in node value it causes), in one walk
 * of each tree. `bias` plus the contributions is exactly the margin, and the margin is
 * `predictMargin`'s to the bit (the same sums in the same order). `byFeature` is zeroed first.
 */
export function explainMargin(
  model: CompiledModel,
  x: ArrayLike<number>,
  byFeature: Float64Array,
): { margin: number; bias: number } {
  const { nodes, roots } = model;
  byFeature.fill(0);
  let margin = model.base;
  let bias = model.base;
  for (let k = 0; k < roots.length; k++) {
    let o = roots[k]! * STRIDE;
    bias += nodes[o + 4]!;
    let f = nodes[o]!;
    while (f >= 0) {
      const next = (x[f]! <= nodes[o + 1]! ? nodes[o + 2]! : nodes[o + 3]!) * STRIDE;
      byFeature[f] = byFeature[f]! + (nodes[next + 4]! - nodes[o + 4]!);
      o = next;
      f = nodes[o]!;
    }
    margin += nodes[o + 4]!;
  }
  return { margin, bias };
}

interface Binned {
  /** Cut values per feature: bin b holds x <= cuts[b] (and > cuts[b-1]); the last bin the rest. */
  cuts: number[][];
  bins: Uint8Array[];
}

function binColumns(columns: Float64Array[], maxBins: number): Binned {
  const cuts: number[][] = [];
  const bins: Uint8Array[] = [];
  for (const col of columns) {
    const sorted = Float64Array.from(col).sort();
    const unique: number[] = [];
    for (const x of sorted) if (unique.length === 0 || unique[unique.length - 1] !== x) unique.push(x);
    let c: number[];
    if (unique.length <= maxBins) c = unique.slice(0, -1);
    else {
      const set = new Set<number>();
      for (let k = 1; k < maxBins; k++) set.add(sorted[Math.floor((k * sorted.length) / maxBins)]!);
      // A cut at the largest value would leave an empty right side.
      c = [...set].filter((x) => x < unique[unique.length - 1]!).sort((a, b) => a - b);
    }
    cuts.push(c);
    const b = new Uint8Array(col.length);
    for (let i = 0; i < col.length; i++) b[i] = lowerBound(c, col[i]!);
    bins.push(b);
  }
  return { cuts, bins };
}

/** First index with cuts[i] >= x (x <= cuts[i] goes to bin i). */
function lowerBound(cuts: number[], x: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cuts[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const round7 = (x: number) => Number(x.toPrecision(7));

function logLoss(margins: Float64Array, labels: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < margins.length; i++) {
    const p = Math.min(1 - 1e-12, Math.max(1e-12, sigmoid(margins[i]!)));
    s -= labels[i] ? Math.log(p) : Math.log(1 - p);
  }
  return s / margins.length;
}

export interface TrainResult {
  model: GbdtModel;
  rounds: number;
  validLogLoss: number;
}

export function trainGbdt(
  train: Dataset,
  valid: Dataset,
  opts: TrainOptions,
  onRound?: (round: number, validLogLoss: number) => void,
): TrainResult {
  const n = train.labels.length;
  const nf = train.columns.length;
  const { cuts, bins } = binColumns(train.columns, opts.maxBins);
  let positives = 0;
  for (const y of train.labels) positives += y;
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, positives / n));
  const base = round7(Math.log(rate / (1 - rate)));
  const margins = new Float64Array(n).fill(base);
  const validMargins = new Float64Array(valid.labels.length).fill(base);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const trees: Tree[] = [];
  let best = { loss: Infinity, rounds: 0 };
  const validRow = new Float64Array(nf);

  for (let round = 0; round < opts.rounds; round++) {
    for (let i = 0; i < n; i++) {
      const p = sigmoid(margins[i]!);
      grad[i] = p - train.labels[i]!;
      hess[i] = Math.max(p * (1 - p), 1e-16);
    }
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    const tree: Tree = { f: [], t: [], l: [], r: [], v: [] };
    grow(tree, all, 0);
    trees.push(tree);
    for (let i = 0; i < validMargins.length; i++) {
      for (let f = 0; f < nf; f++) validRow[f] = valid.columns[f]![i]!;
      validMargins[i]! += leafValue(tree, validRow);
    }
    const loss = logLoss(validMargins, valid.labels);
    onRound?.(round + 1, loss);
    if (loss < best.loss - 1e-7) best = { loss, rounds: round + 1 };
    else if (round + 1 - best.rounds >= opts.patience) break;
  }
  return {
    model: { base, trees: trees.slice(0, best.rounds) },
    rounds: best.rounds,
    validLogLoss: best.loss,
  };

  /** Builds the subtree for `rows` at node index returned; updates training margins at leaves. */
  function grow(tree: Tree, rows: Uint32Array, depth: number): number {
    const id = tree.f.length;
    let G = 0;
    let H = 0;
    for (const i of rows) {
      G += grad[i]!;
      H += hess[i]!;
    }
    const value = round7((-G / (H + opts.lambda)) * opts.learningRate);
    tree.f.push(-1);
    tree.t.push(0);
    tree.l.push(-1);
    tree.r.push(-1);
    tree.v.push(value);
    const split = depth < opts.maxDepth && rows.length >= 2 * opts.minLeafRows ? bestSplit(rows, G, H) : null;
    if (!split) {
      for (const i of rows) margins[i]! += value;
      return id;
    }
    const left: number[] = [];
    const right: number[] = [];
    const col = bins[split.feature]!;
    for (const i of rows) (col[i]! <= split.bin ? left : right).push(i);
    tree.f[id] = split.feature;
    tree.t[id] = cuts[split.feature]![split.bin]!;
    tree.l[id] = grow(tree, Uint32Array.from(left), depth + 1);
    tree.r[id] = grow(tree, Uint32Array.from(right), depth + 1);
    return id;
  }

  function bestSplit(rows: Uint32Array, G: number, H: number): { feature: number; bin: number } | null {
    const parent = (G * G) / (H + opts.lambda);
    let bestGain = 1e-9;
    let out: { feature: number; bin: number } | null = null;
    for (let f = 0; f < nf; f++) {
      const nb = cuts[f]!.length + 1;
      if (nb < 2) continue;
      const hg = new Float64Array(nb);
      const hh = new Float64Array(nb);
      const hc = new Uint32Array(nb);
      const col = bins[f]!;
      for (const i of rows) {
        const b = col[i]!;
        hg[b]! += grad[i]!;
        hh[b]! += hess[i]!;
        hc[b]!++;
      }
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < nb - 1; b++) {
        gl += hg[b]!;
        hl += hh[b]!;
        cl += hc[b]!;
        const cr = rows.length - cl;
        if (cl < opts.minLeafRows || cr < opts.minLeafRows) continue;
        const hr = H - hl;
        if (hl < opts.minChildWeight || hr < opts.minChildWeight) continue;
        const gr = G - gl;
        const gain = (gl * gl) / (hl + opts.lambda) + (gr * gr) / (hr + opts.lambda) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          out = { feature: f, bin: b };
        }
      }
    }
    return out;
  }
}

function leafValue(t: Tree, x: ArrayLike<number>): number {
  let n = 0;
  while (t.f[n]! >= 0) n = x[t.f[n]!]! <= t.t[n]! ? t.l[n]! : t.r[n]!;
  return t.v[n]!;
}
