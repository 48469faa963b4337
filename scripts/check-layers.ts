// `npm run check` runs this: the runtime's modules import only down the layers written in `layers`
// (README, Architecture), the units (a folder of runtime/, or a file at its top) import one another
// without cycles, no module-level import cycle runs through a value import, and a MongoDB collection
// is reached only through its owner. Exits 1 naming every importing file, the file it imports and
// the rule it breaks.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/**
 * Bottom to top. A module may import from its own unit, from the units of lower layers, and from the
 * other units of its own layer as long as no two units import each other (directly or round a
 * cycle). A unit is a folder of runtime/ (`store`) or a file at its top (`node.ts`).
 */
export const layers: ReadonlyArray<{ name: string; units: readonly string[] }> = [
  {
    name: 'base',
    units: [
      'wire',
      'observability',
      'errors.ts',
      'api-tokens.ts',
      'config-options.ts',
      'config.ts',
      'faults.ts',
    ],
  },
  { name: 'data', units: ['store', 'messaging'] },
  { name: 'engine', units: ['actors', 'timers', 'participants', 'orchestrator'] },
  { name: 'http', units: ['http'] },
  {
    name: 'top',
    units: [
      'app.ts',
      'node.ts',
      'node-metrics.ts',
      'ops-server.ts',
      'cli.ts',
      'replay-cli.ts',
      'process-io.ts',
      'permissions.ts',
      'roles.ts',
      'bin.ts',
      'index.ts',
      'dev',
      'testing',
      'contracts',
    ],
  },
];

/**
 * Who reads and writes each collection the runtime names: no other unit calls `collection('<name>')`
 * for it, or reaches into the owner's handle on it (`store.sagas`, `deps.store.history`).
 */
export const collectionOwners: Readonly<Record<string, { unit: string; handles: readonly string[] }>> = {
  sagas: { unit: 'store', handles: ['sagas'] },
  saga_history: { unit: 'store', handles: ['history'] },
  saga_tombstones: { unit: 'store', handles: ['tombstones'] },
  reactor_schedules: { unit: 'participants', handles: [] },
};

export interface Violation {
  /** Paths relative to the repository root (`runtime/store/saga-store.ts`). */
  file: string;
  /** What it imports (a file), or reaches (`collection sagas`). */
  imported: string;
  verb?: 'imports' | 'reaches';
  rule: string;
}

export interface Report {
  violations: Violation[];
  /** Cycles between units through value imports, each as the units in order (the first again at the end). */
  unitCycles: string[][];
  /** Cycles between units that close only through `import type`: tolerated, listed. */
  typeOnlyUnitCycles: string[][];
  /** Module-level cycles through at least one value import (or dynamic import): errors. */
  moduleCycles: string[][];
  /** Module-level cycles whose every path closes only through `import type`: tolerated, listed. */
  typeOnlyCycles: string[][];
}

interface ImportRef {
  specifier: string;
  /** `import type`, `export type … from`, `import('x').T`: nothing is loaded at run time. */
  typeOnly: boolean;
}

/** Every module specifier a file names: imports, re-exports, dynamic imports and `import('x')` types. */
export function importsOf(fileName: string, text: string): ImportRef[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: ImportRef[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      // `import { type A }` still loads the module under verbatimModuleSyntax; only `import type` does not.
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.importClause?.isTypeOnly ?? false });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      out.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      out.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

interface CollectionUse {
  collection: string;
  /** What the file wrote, e.g. `deps.store.sagas`. */
  expression: string;
}

/** `collection('<name>')` calls with a literal name, and `…store.<handle>` property reads. */
function collectionUses(fileName: string, text: string): CollectionUse[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const byHandle = new Map<string, string>();
  for (const [name, owner] of Object.entries(collectionOwners))
    for (const handle of owner.handles) byHandle.set(handle, name);
  const out: CollectionUse[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'collection' &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0]) &&
      node.arguments[0].text in collectionOwners
    ) {
      out.push({ collection: node.arguments[0].text, expression: node.getText(source) });
    } else if (ts.isPropertyAccessExpression(node) && byHandle.has(node.name.text)) {
      const target = node.expression.getText(source);
      // A store, however it is reached: `store`, `deps.store`, `this.store`, `sagaStore`.
      if (/(^|\.)\w*store$/i.test(target))
        out.push({ collection: byHandle.get(node.name.text)!, expression: node.getText(source) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/**
 * The unit of a path relative to runtime/: its first folder, or the file itself at the top (a test
 * there, `config.test.ts`, belongs to the file it tests).
 */
export function unitOf(rel: string): string {
  const slash = rel.indexOf('/');
  return slash === -1 ? rel.replace(/\.test\.ts$/, '.ts') : rel.slice(0, slash);
}

const layerIndex = new Map<string, number>();
layers.forEach((layer, i) => {
  for (const unit of layer.units) layerIndex.set(unit, i);
});

const describeUnit = (unit: string) => {
  const i = layerIndex.get(unit);
  return i === undefined ? `${unit} (in no layer)` : `${unit} (layer ${i + 1} "${layers[i]!.name}")`;
};

/**
 * Checks a set of runtime modules: `files` maps a path relative to runtime/ (`store/saga-store.ts`)
 * to its source text. Relative imports are resolved among them; packages are not looked at.
 */
export function checkLayers(files: ReadonlyMap<string, string>): Report {
  const violations: Violation[] = [];
  const shown = (rel: string) => `runtime/${rel}`;
  // Module graph: every import, each marked type-only or not.
  const edges = new Map<string, Array<{ to: string; typeOnly: boolean }>>();
  // unit -> unit -> one example "a -> b", through any import and through value imports
  const unitEdges = new Map<string, Map<string, string>>();
  const unitValueEdges = new Map<string, Map<string, string>>();

  for (const [rel, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const fromUnit = unitOf(rel);
    const fromLayer = layerIndex.get(fromUnit);
    if (fromLayer === undefined) {
      violations.push({
        file: shown(rel),
        imported: shown(rel),
        rule: `${fromUnit} is in no layer: add it to \`layers\` in scripts/check-layers.ts (and the README's Architecture)`,
      });
    }
    const out: Array<{ to: string; typeOnly: boolean }> = [];
    edges.set(rel, out);
    for (const ref of importsOf(rel, text)) {
      if (!ref.specifier.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), ref.specifier));
      if (target.startsWith('../')) {
        violations.push({
          file: shown(rel),
          imported: target.slice(3),
          rule: 'the runtime imports nothing of the repository outside runtime/ (it is the published package)',
        });
        continue;
      }
      if (!target.endsWith('.ts')) continue; // an asset (a UI file read as text), not a module
      out.push({ to: target, typeOnly: ref.typeOnly });
      const toUnit = unitOf(target);
      if (toUnit === fromUnit) continue;
      const toLayer = layerIndex.get(toUnit);
      if (fromLayer !== undefined && toLayer !== undefined && toLayer > fromLayer) {
        violations.push({
          file: shown(rel),
          imported: shown(target),
          rule: `${describeUnit(fromUnit)} may not import ${describeUnit(toUnit)}: a module imports only its own unit and lower layers${ref.typeOnly ? ' (type-only imports too)' : ''}`,
        });
      }
      for (const graph of ref.typeOnly ? [unitEdges] : [unitEdges, unitValueEdges]) {
        let m = graph.get(fromUnit);
        if (!m) graph.set(fromUnit, (m = new Map()));
        if (!m.has(toUnit)) m.set(toUnit, `${shown(rel)} -> ${shown(target)}`);
      }
    }
  }

  // Cycles between units (same-layer units may import one another only one way round).
  const unitGraph = new Map([...unitValueEdges].map(([u, m]) => [u, [...m.keys()]]));
  const unitCycles = stronglyConnected(unitGraph).map((scc) => cycleThrough(scc, unitGraph));
  const anyUnitGraph = new Map([...unitEdges].map(([u, m]) => [u, [...m.keys()]]));
  const inValueCycle = new Set(unitCycles.flat());
  const typeOnlyUnitCycles = stronglyConnected(anyUnitGraph)
    .filter((scc) => !scc.some((u) => inValueCycle.has(u)))
    .map((scc) => cycleThrough(scc, anyUnitGraph));
  for (const cycle of unitCycles) {
    const steps = cycle.slice(0, -1).map((u, i) => unitValueEdges.get(u)!.get(cycle[i + 1]!)!);
    violations.push({
      file: steps[0]!.split(' -> ')[0]!,
      imported: steps[0]!.split(' -> ')[1]!,
      rule: `units import one another in a cycle ${cycle.join(' -> ')} (${steps.join('; ')}): no two units import each other, directly or round a cycle`,
    });
  }

  // Module-level cycles: through any import, and through value imports alone.
  const all = new Map([...edges].map(([f, es]) => [f, es.map((e) => e.to).filter((t) => files.has(t))]));
  const values = new Map(
    [...edges].map(([f, es]) => [f, es.filter((e) => !e.typeOnly && files.has(e.to)).map((e) => e.to)]),
  );
  const moduleCycles = stronglyConnected(values).map((scc) => cycleThrough(scc, values).map(shown));
  const valueMembers = new Set(moduleCycles.flat());
  const typeOnlyCycles = stronglyConnected(all)
    .filter((scc) => !scc.some((m) => valueMembers.has(shown(m))))
    .map((scc) => cycleThrough(scc, all).map(shown));
  for (const cycle of moduleCycles) {
    violations.push({
      file: cycle[0]!,
      imported: cycle[1]!,
      rule: `modules import one another in a cycle ${cycle.join(' -> ')}`,
    });
  }
  return { violations, unitCycles, typeOnlyUnitCycles, moduleCycles, typeOnlyCycles };
}

/** Tarjan: the strongly connected components with more than one node, or one importing itself. */
function stronglyConnected(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return out;
}

/** One concrete cycle inside a strongly connected component, from its first member back to it. */
function cycleThrough(scc: readonly string[], graph: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(scc);
  const start = scc[0]!;
  // Breadth-first from start to start, staying inside the component: a shortest cycle.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path: string[] = [];
        for (let at = v; at !== start; at = previous.get(at)!) path.unshift(at);
        return [start, ...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...scc, start];
}

/** Collection uses outside their owner, as violations; tests may look into any collection. */
export function checkCollectionOwners(files: ReadonlyMap<string, string>): Violation[] {
  const out: Violation[] = [];
  for (const [rel, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    if (rel.endsWith('.test.ts')) continue;
    for (const use of collectionUses(rel, text)) {
      const owner = collectionOwners[use.collection]!;
      if (unitOf(rel) === owner.unit) continue;
      out.push({
        file: `runtime/${rel}`,
        imported: `collection ${use.collection}`,
        verb: 'reaches',
        rule: `\`${use.expression}\`: only ${owner.unit} reads and writes ${use.collection}; call a method of its owner`,
      });
    }
  }
  return out;
}

/** Every .ts file under `dir`, keyed by its path relative to it (posix separators). */
export async function readTree(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'target') await walk(full);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        files.set(path.relative(dir, full).split(path.sep).join('/'), await readFile(full, 'utf8'));
      }
    }
  };
  await walk(dir);
  return files;
}

export function formatViolation(v: Violation): string {
  return `${v.file} ${v.verb ?? 'imports'} ${v.imported}: ${v.rule}`;
}

async function main(): Promise<number> {
  const runtime = fileURLToPath(new URL('../runtime/', import.meta.url));
  const files = await readTree(runtime);
  const report = checkLayers(files);
  const problems = [...report.violations, ...checkCollectionOwners(files)];
  for (const v of problems) process.stderr.write(`${formatViolation(v)}\n`);
  for (const cycle of [...report.typeOnlyUnitCycles, ...report.typeOnlyCycles])
    process.stdout.write(
      `check-layers: tolerated, a cycle closed only by \`import type\`: ${cycle.join(' -> ')}\n`,
    );
  process.stdout.write(
    `check-layers: ${problems.length === 0 ? 'ok' : `${problems.length} problem(s)`}; ${files.size} modules in ${layers.length} layers (${layers.map((l) => l.name).join(' < ')})\n`,
  );
  return problems.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
