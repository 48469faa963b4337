import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../observability/index.ts';

/** Outermost middleware, so the status it logs is the final one, error handlers included. */
export function requestLog(log: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const ms = Math.round((performance.now() - started) * 10) / 10;
    log.debug({ method: c.req.method, path: c.req.path, status: c.res.status, ms }, 'http request');
  };
}
