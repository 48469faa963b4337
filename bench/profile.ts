// Summarises a V8 CPU profile (`node --cpu-prof`): where the process spent its time, by function (self
// time: samples whose top frame is the function) and by package or runtime module, plus the inclusive
// time of this project's own functions. Also runs alone: `npx tsx bench/profile.ts <file.cpuprofile>`.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  where: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  file: string;
  /** Only samples inside this window (monotonic microseconds) when set. */
  window: { fromUs: number; toUs: number } | null;
  /** Sampled time, idle excluded. */
  busyMs: number;
  idleMs: number;
  topSelf: ProfileRow[];
  byModule: ProfileRow[];
  /** Inclusive time of functions in runtime/, services/, sagas/ (time with them on the stack). */
  topInclusiveOwn: ProfileRow[];
}

const root = fileURLToPath(new URL('..', import.meta.url));

function shortUrl(url: string): string {
  if (!url) return '';
  let p = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = p.lastIndexOf('node_modules/');
  if (nm >= 0) return p.slice(nm + 'node_modules/'.length);
  if (p.startsWith(root)) p = path.relative(root, p);
  return p;
}

/** node_modules/<pkg> (scoped too), node:<module>, runtime/<dir>, services/<name>, or the special V8 nodes. */
function moduleOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native / V8 builtins)';
  if (url.startsWith('node:')) return url;
  const s = shortUrl(url);
  if (s !== url && !s.startsWith('/')) {
    const parts = s.split('/');
    if (url.includes('node_modules/'))
      return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return s;
}

const isOwn = (frame: CallFrame) => /^(runtime|services|sagas)\//.test(shortUrl(frame.url));

/** CLOCK_MONOTONIC in microseconds: the clock of V8's profile timestamps, the same in every process. */
export const monoUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * `window` (microseconds of `monoUs()`) keeps only the samples taken inside it, e.g. the measured
 * levels without the start-up (module loading) and the shutdown.
 */
export function summarizeProfile(
  file: string,
  top = 25,
  window?: { fromUs: number; toUs: number },
): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfById = new Map<number, number>();
  let at = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i]!;
    // The delta before sample i is the time until it; attribute it to the sample (V8's convention).
    const delta = prof.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    selfById.set(id, (selfById.get(id) ?? 0) + delta / 1000);
  }
  // Line numbers of tsx-compiled modules are not the source's; they are shown only where they mean something.
  // Positions in this project's modules go through their source maps (written by bench/role-main.ts).
  const mapsFile = path.join(path.dirname(file), 'sourcemaps.json');
  const payloads: Record<string, SourceMapPayload> = existsSync(mapsFile)
    ? (JSON.parse(readFileSync(mapsFile, 'utf8')) as Record<string, SourceMapPayload>)
    : {};
  const maps = new Map<string, SourceMap>();
  const line = (f: CallFrame): string => {
    const payload = payloads[f.url];
    if (payload) {
      let map = maps.get(f.url);
      if (!map) maps.set(f.url, (map = new SourceMap(payload)));
      const entry = map.findEntry(f.lineNumber, f.columnNumber) as { originalLine?: number };
      if (entry.originalLine !== undefined) return `:${entry.originalLine + 1}`;
    }
    return f.lineNumber > 0 ? `:${f.lineNumber + 1}` : '';
  };
  const keys = new Map<number, string>();
  const key = (f: CallFrame, id: number) => {
    let k = keys.get(id);
    if (k === undefined)
      keys.set(id, (k = `${f.functionName || '(anonymous)'}\u0000${shortUrl(f.url)}${line(f)}`));
    return k;
  };
  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleMs = 0;
  let busyMs = 0;
  for (const [id, ms] of selfById) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    busyMs += ms;
    const k = key(frame, id);
    self.set(k, (self.get(k) ?? 0) + ms);
    const m = moduleOf(frame);
    modules.set(m, (modules.get(m) ?? 0) + ms);
    // Inclusive time of own functions: once per distinct function on this node's stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!isOwn(f)) continue;
      const fk = key(f, cur);
      if (seen.has(fk)) continue;
      seen.add(fk);
      inclusive.set(fk, (inclusive.get(fk) ?? 0) + ms);
    }
  }
  const rows = (m: Map<string, number>, n: number): ProfileRow[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => {
        const [name, where] = k.split('\u0000');
        return {
          name: name!,
          where: where ?? '',
          ms: Math.round(ms),
          pct: Math.round((ms / busyMs) * 1000) / 10,
        };
      });
  return {
    file,
    window: window ?? null,
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleMs),
    topSelf: rows(self, top),
    byModule: rows(modules, 15),
    topInclusiveOwn: rows(inclusive, 15),
  };
}

export function formatProfile(p: ProfileSummary): string {
  const line = (r: ProfileRow) =>
    `  ${r.pct.toFixed(1).padStart(5)}%  ${String(r.ms).padStart(7)} ms  ${r.name}${r.where ? `  (${r.where})` : ''}`;
  return [
    `profile ${path.basename(p.file)}${p.window ? ', measured span only' : ''}: ${(p.busyMs / 1000).toFixed(1)} s busy, ${(p.idleMs / 1000).toFixed(1)} s idle`,
    'top self time (function, where):',
    ...p.topSelf.map(line),
    'self time by package / module:',
    ...p.byModule.map(line),
    'inclusive time of project functions:',
    ...p.topInclusiveOwn.map(line),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: npx tsx bench/profile.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(summarizeProfile(file, Number(process.argv[3] ?? 25)))}\n`);
}
