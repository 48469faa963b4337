import { readFile, writeFile } from 'node:fs/promises';
import type { App } from './app.ts';
import { ValidationError } from './errors.ts';
import {
  divergenceLine,
  parseRecordedSagas,
  type RecordedSaga,
  replayRecorded,
  replaySummary,
} from './orchestrator/index.ts';
import { writeOut } from './process-io.ts';

/**
 * `jetsaga replay`: the histories of recorded sagas, from a file exported from the API or from the
 * API itself, replayed through the app's definitions (orchestrator/replay.ts). One line per saga
 * the build would not reproduce, naming it and the first revision where they part, then
 * `replay: <n> sagas, <m> reproduced, <k> diverged`; exit 1 when any diverged.
 */

export const replayUsage = `  replay (--file FILE | --from-api URL) [--type TYPE] [--status S,..] [--limit N]
         [--token TOKEN] [--save FILE] [--latest]
                          replay recorded sagas through this build's definitions; exit 1 naming each
                          saga whose states, commands or timers it would not reproduce, and the
                          revision where they part. --file: JSON lines (or an array) of sagas as
                          GET /v1/sagas/{id} returns them; --from-api: fetch them (newest first, up
                          to --limit, default 1000; token from --token or JETSAGA_API_TOKEN);
                          --save: also write what was fetched as such a file; --latest: replay
                          through the newest version of each type instead of the saga's own`;

interface ReplayArgs {
  file?: string;
  fromApi?: string;
  type?: string;
  status?: string;
  limit: number;
  token?: string;
  save?: string;
  latest: boolean;
}

const valued = ['--file', '--from-api', '--type', '--status', '--limit', '--token', '--save'] as const;
type Valued = (typeof valued)[number];

const example: Record<Valued, string> = {
  '--file': '--file histories.jsonl',
  '--from-api': '--from-api http://localhost:3000',
  '--type': '--type order-fulfillment',
  '--status': '--status completed,compensated',
  '--limit': '--limit 200',
  '--token': '--token <an API token with the read scope>',
  '--save': '--save histories.jsonl',
};

/** A usage or input error, which the CLI prints (and exits 1). */
const usage = (message: string) => new ValidationError(message, []);

export function parseReplayArgs(args: readonly string[], env: NodeJS.ProcessEnv): ReplayArgs {
  const out: ReplayArgs = { limit: 1000, latest: false };
  const given = new Map<Valued, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--latest') {
      out.latest = true;
      continue;
    }
    const flag = valued.find((f) => arg === f || arg.startsWith(`${f}=`));
    if (!flag) {
      throw usage(
        `jetsaga replay: unknown option ${arg}; give --file FILE or --from-api URL (run jetsaga help)`,
      );
    }
    const value = arg === flag ? args[++i] : arg.slice(flag.length + 1);
    if (value === undefined || value === '' || value.startsWith('--'))
      throw usage(`${flag}: give a value, e.g. ${example[flag]}`);
    given.set(flag, value);
  }
  out.file = given.get('--file');
  out.fromApi = given.get('--from-api');
  out.type = given.get('--type');
  out.status = given.get('--status');
  out.save = given.get('--save');
  out.token = given.get('--token') ?? env.JETSAGA_API_TOKEN;
  if ((out.file === undefined) === (out.fromApi === undefined))
    throw usage(
      'jetsaga replay: give exactly one of --file FILE (an export) or --from-api URL (a running API)',
    );
  if (out.fromApi !== undefined) {
    try {
      const url = new URL(out.fromApi);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    } catch {
      throw usage(`--from-api ${out.fromApi}: give the API's http(s) URL, e.g. ${example['--from-api']}`);
    }
  } else {
    for (const f of ['--type', '--status', '--limit', '--token', '--save'] as const)
      if (given.has(f)) throw usage(`${f} is an option of --from-api, not of --file`);
  }
  const limit = given.get('--limit');
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1)
      throw usage(`--limit ${limit}: give a positive whole number, e.g. ${example['--limit']}`);
    out.limit = Number(limit);
  }
  return out;
}

export async function runReplay(args: readonly string[], app: App): Promise<number> {
  const opts = parseReplayArgs(args, process.env);
  let sagas: RecordedSaga[];
  if (opts.file !== undefined) {
    const file = opts.file;
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw usage(
        err.code === 'ENOENT'
          ? `--file ${file}: no such file`
          : `--file ${file}: cannot read it (${err.message})`,
      );
    });
    try {
      sagas = parseRecordedSagas(text);
    } catch (err) {
      throw usage(`--file ${file}: ${(err as Error).message}`);
    }
  } else {
    // Saved as the API returned them (the whole saga, not only what replay reads).
    const lines = (await fetchSagas(opts)).map((s) => `${JSON.stringify(s)}\n`).join('');
    if (opts.save !== undefined) await writeFile(opts.save, lines, 'utf8');
    sagas = parseRecordedSagas(lines);
  }
  const report = replayRecorded(app.registry, sagas, { version: opts.latest ? 'latest' : 'recorded' });
  await writeOut(
    process.stdout,
    `${report.diverged.map((r) => `${divergenceLine(r)}\n`).join('')}${replaySummary(report)}\n`,
  );
  return report.diverged.length > 0 ? 1 : 0;
}

/** The sagas of a running API, newest first: the list's pages, then each saga whole. */
async function fetchSagas(opts: ReplayArgs): Promise<unknown[]> {
  const base = opts.fromApi!.replace(/\/+$/, '');
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const get = async (path: string): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { headers });
    } catch (err) {
      throw usage(`--from-api ${base}: cannot reach it (${(err as Error).message})`);
    }
    if (!res.ok) {
      const body = await res.text().catch(() => '');
      const detail = /"detail"\s*:\s*"([^"]*)"/.exec(body)?.[1] ?? res.statusText;
      const hint =
        res.status === 401 || res.status === 403 ? ' (give a token with --token or JETSAGA_API_TOKEN)' : '';
      throw usage(`--from-api ${base}: GET ${path}: ${res.status} ${detail}${hint}`);
    }
    return res.json();
  };
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: String(Math.min(500, opts.limit - ids.length)) });
    if (opts.type) q.set('type', opts.type);
    if (opts.status) q.set('status', opts.status);
    if (cursor) q.set('cursor', cursor);
    const page = (await get(`/v1/sagas?${q}`)) as {
      items: Array<{ sagaId: string }>;
      nextCursor: string | null;
    };
    ids.push(...page.items.map((i) => i.sagaId));
    cursor = page.nextCursor;
  } while (cursor && ids.length < opts.limit);
  const sagas: unknown[] = [];
  // A few at a time: enough to hide the round trips, not enough to load the API.
  for (let i = 0; i < ids.length; i += 8)
    sagas.push(
      ...(await Promise.all(ids.slice(i, i + 8).map((id) => get(`/v1/sagas/${encodeURIComponent(id)}`)))),
    );
  return sagas;
}
