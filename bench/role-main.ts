// One jetsaga role as its own OS process for the benchmark: `node --import tsx bench/role-main.ts <role>`,
// with <role> one of `api`, `orchestrator`, `service <name>`, an extra role's name or `all`. It runs the
// same `startNode` as `jetsaga <role>` with the distribution under test (test/dist.ts), prints the same
// start line (`jetsaga started`, with the API's url), and answers the harness's `stats` requests over
// the IPC channel (live actors, timers fired, memory, and the MongoDB calls its client sent, counted
// from the driver's command monitoring when the connection string turns it on: role-stats.ts). It
// stops gracefully on SIGTERM (so that `--cpu-prof` writes its profile) and exits when the harness goes
// away (IPC disconnect), so no role outlives a benchmark.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { findSourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '../runtime/config.ts';
import { allRoles, type Role, type RunningNode, startNode } from '../runtime/node.ts';
import { appForTests as benchApp } from '../test/dist.ts';
import {
  countCollectionCalls,
  type MongoCounts,
  type RoleStats,
  type StatsReply,
  type StatsRequest,
} from './role-stats.ts';

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

function statsOf(node: RunningNode, mongo: (() => MongoCounts) | null): RoleStats {
  const o = node.orchestrator;
  const consumers = [...(o ? [o.consumer] : []), ...node.services.map((s) => s.consumer)];
  const mem = process.memoryUsage();
  return {
    mongo: mongo?.() ?? null,
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
  const mongoCounts = countCollectionCalls(node.mongo);
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
  process.on('message', (msg: StatsRequest) => {
    if (msg.type !== 'stats') return;
    if (msg.gc) (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: 'stats', id: msg.id, stats: statsOf(node, mongoCounts) } satisfies StatsReply);
  });
  // The start line `jetsaga <role>` logs (runtime/cli.ts), whatever LOG_LEVEL says: the harness waits for it.
  process.stdout.write(
    `${JSON.stringify({ level: 30, time: Date.now(), msg: 'jetsaga started', roles: process.argv.slice(2), api: node.api?.url ?? null })}\n`,
  );
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`bench role failed: ${message}\n`);
  setTimeout(() => process.exit(1), 100);
});
