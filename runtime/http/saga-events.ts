import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Logger } from '../observability/index.ts';
import { isTerminal, type SagaStore, type SagaSummaryDoc } from '../store/index.ts';
import { historyView, sagaSummaryView } from './views.ts';

export interface SagaEventsOptions {
  pollMs: number;
  /** Ends every open stream when the API shuts down. */
  signal?: AbortSignal;
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs?: number;
  /** How long to wait for the last history entry once the saga has ended. */
  tailGraceMs?: number;
  log?: Logger;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * The open streams of each shutdown signal. The signal lives as long as the process and
 * streams come and go, so they share one listener on it, added with the first open stream
 * and removed with the last: nothing accumulates, however many streams were ever opened or
 * are open at once (one listener per stream would trip MaxListenersExceededWarning at 11).
 */
const openStreams = new WeakMap<AbortSignal, { stops: Set<() => void>; onAbort: () => void }>();

/** Calls `stop` when `signal` aborts, until the returned function is called. */
function onShutdown(signal: AbortSignal, stop: () => void): () => void {
  if (signal.aborted) {
    stop();
    return () => undefined;
  }
  let entry = openStreams.get(signal);
  if (!entry) {
    const stops = new Set<() => void>();
    const onAbort = () => {
      openStreams.delete(signal);
      for (const s of stops) s();
      stops.clear();
    };
    entry = { stops, onAbort };
    openStreams.set(signal, entry);
    signal.addEventListener('abort', onAbort, { once: true });
  }
  const shared = entry;
  shared.stops.add(stop);
  return () => {
    if (!shared.stops.delete(stop) || shared.stops.size > 0 || openStreams.get(signal) !== shared) return;
    openStreams.delete(signal);
    signal.removeEventListener('abort', shared.onAbort);
  };
}

/** `Last-Event-ID` (a reconnecting EventSource) or `?after=` picks up after that revision. */
export function resumeRev(c: Context): number {
  const raw = c.req.header('Last-Event-ID') ?? c.req.query('after');
  if (raw === undefined || raw === '') return 0;
  const rev = Number(raw);
  if (!Number.isInteger(rev) || rev < 0) {
    throw new ValidationError('invalid resume position', [
      {
        field: c.req.header('Last-Event-ID') !== undefined ? 'Last-Event-ID' : 'after',
        message: 'a revision number',
      },
    ]);
  }
  return rev;
}

/**
 * Live transitions of one saga as Server-Sent Events. It polls `saga_history` by revision,
 * so it sees transitions made by any orchestrator replica in any process: `transition`
 * events (id = rev, in rev order, each exactly once per stream), a `saga` event whenever
 * the summary changes, and `end` once the saga has ended and its history is complete.
 */
export async function streamSagaEvents(
  c: Context,
  store: SagaStore,
  sagaId: string,
  opts: SagaEventsOptions,
): Promise<Response> {
  let lastRev = resumeRev(c);
  const first = await store.summaryOf(sagaId);
  if (!first) throw new NotFoundError(`no saga with id "${sagaId}"`);
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const tailGraceMs = opts.tailGraceMs ?? 5_000;
  c.header('X-Accel-Buffering', 'no');
  return streamSSE(
    c,
    async (stream) => {
      const stop = new AbortController();
      stream.onAbort(() => stop.abort());
      // However the stream ends (the saga ended, the client left, the store failed), it
      // lets go of the shutdown signal.
      const release = opts.signal ? onShutdown(opts.signal, () => stop.abort()) : () => undefined;
      try {
        let doc: SagaSummaryDoc | null = first;
        let lastSummary = '';
        let lastWrite = Date.now();
        let endedSince: number | null = null;
        while (!stop.signal.aborted && doc) {
          const entries = await store.historyAfter(sagaId, lastRev, 200);
          for (const entry of entries) {
            await stream.writeSSE({
              event: 'transition',
              id: String(entry.rev),
              data: JSON.stringify(historyView(entry)),
            });
            lastRev = entry.rev;
            lastWrite = Date.now();
          }
          const summary = JSON.stringify(sagaSummaryView(doc));
          if (summary !== lastSummary) {
            await stream.writeSSE({ event: 'saga', data: summary });
            lastSummary = summary;
            lastWrite = Date.now();
          }
          if (isTerminal(doc.status)) {
            endedSince ??= Date.now();
            // A crash between commit and history write can leave a revision without an entry.
            if (lastRev >= doc.rev || Date.now() - endedSince > tailGraceMs) {
              await stream.writeSSE({ event: 'end', data: summary });
              return;
            }
          }
          if (Date.now() - lastWrite >= heartbeatMs) {
            await stream.write(': keep-alive\n\n');
            lastWrite = Date.now();
          }
          if (entries.length < 200) await sleep(opts.pollMs, stop.signal);
          doc = await store.summaryOf(sagaId);
        }
      } finally {
        release();
      }
    },
    // The store went away mid-stream: say so; the client reconnects with Last-Event-ID.
    async (err, stream) => {
      opts.log?.warn({ err: err.message, sagaId }, 'saga event stream failed');
      await stream
        .writeSSE({
          event: 'error',
          data: JSON.stringify({
            detail: 'the event stream failed; reconnect with Last-Event-ID to continue',
          }),
        })
        .catch(() => undefined);
    },
  );
}
