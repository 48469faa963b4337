import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * One structured logger per process. Children carry `role`, and per message `sagaId`,
 * `correlationId` and `msgId`, so one saga can be followed across roles.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}, fd: 1 | 2 = 1): Logger {
  return pino(
    { level, base: { ...base }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd, sync: false }),
  );
}
