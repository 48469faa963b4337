// One jetsaga role as its own OS process for the benchmark: `node --import tsx bench/role-main.ts <role>`,
// with <role> one of `api`, `orchestrator`, `service <name>` or an extra role's name. It runs the same
// `startNode` as `jetsaga <role>` with the distribution under test (test/dist.ts), and talks to the
// harness over the IPC channel: `ready` once started, `stats` on request (live actors, timers fired,
// MongoDB operations asked for). It stops gracefully on SIGTERM (so that `--cpu-prof` writes its
// profile) and exits when the harness goes away (IPC disconnect), so no role outlives a benchmark.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { findSourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Collection } from 'mongodb';
import { loadConfig } from '../runtime/config.ts';
import { allRoles, type Role, type RunningNode, startNode } from '../runtime/node.ts';
import { appForTests as benchApp } from '../test/dist.ts';

/** MongoDB operations this process asked for, by collection method, and the write statements among them. */
export interface MongoCounts {
  /** Calls by method (insertOne, updateOne, findOne, find, ...): one round trip each, except cursors' getMores. */
  commands: Record<string, number>;
  /** The same calls by `<collection>.<method>`: which calls a step waits for is told by these (bench.ts). */
  calls: Record<string, number>;
  /** Write statements: inserted documents, updates, deletes, findOneAnd*, bulk operations. */
  writes: number;
}

export interface RoleStats {
  mongo: MongoCounts;
  actorsLive: number | null;
  passivations: number | null;
  timersFired: number | null;
  /** Messages handled by this process's durable consumers (the extra roles' are not visible here). */
  processed: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** V8 heap reserved (what RSS keeps after a burst even when little of it is live). */
  heapTotalBytes: number;
  /** Memory outside the V8 heap: Buffers (socket reads, BSON), ArrayBuffers. */
  externalBytes: number;
}

/** `gc`: run a full garbage collection first (needs `--expose-gc`), so that heapUsed is what is live. */
export type ToRole = { type: 'stats'; id: number; gc?: boolean };
export type FromRole =
  | { type: 'ready'; api: string | null }
  | { type: 'stats'; id: number; stats: RoleStats }
  | { type: 'failed'; message: string };

const counts: MongoCounts = { commands: {}, calls: {}, writes: 0 };

// Counted at the driver's collection API, outermost call only (insertMany runs through bulkWrite,
// findOne through find). The local MongoDB-wire server has no serverStatus opcounters, and the
// driver's command monitoring would deserialize every reply a second time and skew the CPU figures.
const writeMethods: Record<string, (args: unknown[]) => number> = {
  insertOne: () => 1,
  insertMany: (a) => (Array.isArray(a[0]) ? a[0].length : 1),
  bulkWrite: (a) => (Array.isArray(a[0]) ? a[0].length : 1),
  updateOne: () => 1,
  updateMany: () => 1,
  replaceOne: () => 1,
  deleteOne: () => 1,
  deleteMany: () => 1,
  findOneAndUpdate: () => 1,
  findOneAndReplace: () => 1,
  findOneAndDelete: () => 1,
};
const readMethods = ['findOne', 'find', 'countDocuments', 'estimatedDocumentCount', 'aggregate', 'distinct'];
let depth = 0;
const proto = Collection.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const method of [...Object.keys(writeMethods), ...readMethods]) {
  const original = proto[method]!;
  proto[method] = function (this: Collection, ...args: unknown[]) {
    if (depth === 0) {
      counts.commands[method] = (counts.commands[method] ?? 0) + 1;
      const call = `${this.collectionName}.${method}`;
      counts.calls[call] = (counts.calls[call] ?? 0) + 1;
      counts.writes += writeMethods[method]?.(args) ?? 0;
    }
    depth++;
    try {
      return original.apply(this, args);
    } finally {
      depth--;
    }
  };
}

const send = (msg: FromRole) => process.send?.(msg);

/** `all` (every role in this one process, as `jetsaga all`) or one role. */
function parseRoles(args: string[]): { roles: Role[]; rest: string[] } {
  if (args[0] === 'all') return { roles: allRoles(benchApp), rest: args.slice(1) };
  const { role, rest } = parseRole(args);
  return { roles: [role], rest };
}

function parseRole(args: string[]): { role: Role; rest: string[] } {
  const [first, ...rest] = args;
  if (first === 'api' || first === 'orchestrator') return { role: { kind: first }, rest };
  if (first === 'service') {
    const [name, ...more] = rest;
    if (!name || !benchApp.participants[name]) throw new Error(`unknown service ${name}`);
    return { role: { kind: 'service', name }, rest: more };
  }
  if (first && benchApp.reactors[first]) return { role: { kind: 'reactor', name: first }, rest };
  throw new Error(`unknown role ${first}`);
}

function statsOf(node: RunningNode): RoleStats {
  const o = node.orchestrator;
  const consumers = [...(o ? [o.consumer] : []), ...node.services.map((s) => s.consumer)];
  const mem = process.memoryUsage();
  return {
    mongo: { commands: { ...counts.commands }, calls: { ...counts.calls }, writes: counts.writes },
    actorsLive: o ? o.host.size : null,
    passivations: o ? o.host.passivations : null,
    timersFired: o ? o.timers.fired : null,
    processed: consumers.reduce((sum, c) => sum + c.stats.processed, 0),
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    heapTotalBytes: mem.heapTotal,
    externalBytes: mem.external,
  };
}

/**
 * Under `--cpu-prof`, the source maps of this project's loaded modules, next to the profile: tsx
 * compiles each module onto one line, so the profile's positions mean something only through them.
 */
function dumpSourceMaps(): void {
  const dir = process.execArgv.find((a) => a.startsWith('--cpu-prof-dir='))?.slice('--cpu-prof-dir='.length);
  if (!dir) return;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const maps: Record<string, unknown> = {};
  for (const top of ['runtime', 'sagas', 'services', 'test', 'bench']) {
    let files: string[];
    try {
      files = readdirSync(path.join(root, top), { recursive: true, encoding: 'utf8' });
    } catch {
      continue;
    }
    for (const f of files) {
      if (!f.endsWith('.ts')) continue;
      const url = pathToFileURL(path.join(root, top, f)).href;
      const map = findSourceMap(url);
      if (map) maps[url] = map.payload;
    }
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'sourcemaps.json'), JSON.stringify(maps));
}

async function main(): Promise<void> {
  const { roles, rest } = parseRoles(process.argv.slice(2));
  const { config } = loadConfig(rest);
  const node = await startNode(config, benchApp, roles);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
    node.stop().then(
      () => {
        clearTimeout(timer);
        try {
          dumpSourceMaps();
        } catch (err) {
          process.stderr.write(`source maps not written: ${String(err)}\n`);
        }
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.on('disconnect', stop);
  process.on('message', (msg: ToRole) => {
    if (msg.type !== 'stats') return;
    if (msg.gc) (globalThis as { gc?: () => void }).gc?.();
    send({ type: 'stats', id: msg.id, stats: statsOf(node) });
  });
  send({ type: 'ready', api: node.api?.url ?? null });
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`bench role failed: ${message}\n`);
  send({ type: 'failed', message });
  setTimeout(() => process.exit(1), 100);
});
