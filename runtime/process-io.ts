import type { Logger } from './observability/index.ts';

// What the commands (`cli.ts`, `dev/dev-server.ts`) share of talking to their process: output written
// through before they exit, and a graceful stop on SIGINT or SIGTERM.

const toleratingClosedReader = new WeakSet<NodeJS.WritableStream>();

/**
 * Writes everything, then resolves: a process that exits right after still delivers it all through a
 * pipe. A reader that closed the pipe early (`jetsaga openapi | head`) has all it wanted: its EPIPE,
 * which the stream also emits as an event after the write, is not an error.
 */
export function writeOut(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!toleratingClosedReader.has(stream)) {
    toleratingClosedReader.add(stream);
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  return new Promise((resolve, reject) => {
    stream.write(text, (err?: NodeJS.ErrnoException | null) => {
      if (!err || err.code === 'EPIPE') resolve();
      else reject(err);
    });
  });
}

/**
 * Waits for SIGINT or SIGTERM, then stops; resolves to 0 after a clean stop, 1 after a failed or timed
 * out one. It keeps listening while stopping: a terminal's Ctrl-C under
 * `npx tsx` or `npm run` arrives twice, from the terminal and relayed by the wrapper, and a second
 * signal nobody handles would end the process halfway (killing the servers before the roles stopped).
 * A repeat within a second is taken for that echo; a later one is the user insisting: exit at once,
 * and the exit hooks kill the servers and release the lock.
 */
export function untilSignal(log: Logger, timeoutMs: number, stop: () => Promise<void>): Promise<number> {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  return new Promise((resolve) => {
    let firstAt: number | undefined;
    const done = (code: number) => {
      for (const signal of signals) process.off(signal, onSignal);
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (firstAt !== undefined) {
        if (Date.now() - firstAt < 1_000) return;
        log.warn({ signal }, 'stopping at once');
        process.exit(130);
      }
      firstAt = Date.now();
      log.info({ signal }, 'shutting down (again to force)');
      const timer = setTimeout(() => {
        log.error('graceful shutdown timed out');
        done(1);
      }, timeoutMs);
      stop().then(
        () => {
          clearTimeout(timer);
          done(0);
        },
        (err: unknown) => {
          clearTimeout(timer);
          log.error({ err: String(err) }, 'shutdown failed');
          done(1);
        },
      );
    };
    for (const signal of signals) process.on(signal, onSignal);
  });
}
