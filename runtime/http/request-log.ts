import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../observability/index.ts';
import { callerOf } from './auth.ts';

/** Outermost middleware, so the status it logs is the final one, error handlers included. */
export function requestLog(log: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const ms = Math.round((performance.now() - started) * 10) / 10;
    // The caller (its token's name) is known once auth has run, i.e. by now.
    const caller = callerOf(c);
    log.debug(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms, ...(caller ? { caller } : {}) },
      'http request',
    );
  };
}
