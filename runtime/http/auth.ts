import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { type ApiScope, type ApiToken, type Config } from '../config.ts';
import { ValidationError } from '../errors.ts';
import { problem, statusTitle } from './problem.ts';

/** How the API authenticates: bearer tokens with a scope each, or nothing (local use). */
export type AuthSettings = { mode: 'off' } | { mode: 'tokens'; tokens: readonly ApiToken[] };

/** Paths anyone may call: probes, metrics, and pages that hold no data (the UI asks for a token itself). */
const openPaths = [
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/metrics$/,
  /^\/openapi\.json$/,
  /^\/docs(\/.*)?$/,
  /^\/ui(\/.*)?$/,
  /^\/$/,
];

export const isOpenPath = (path: string) => openPaths.some((p) => p.test(path));

/** Reading needs `read`, anything that changes state needs `write`; `write` implies `read`. */
export function requiredScope(method: string): ApiScope {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/**
 * The auth settings of a config. Refuses the silent default: with no token configured,
 * the operator must say `JETSAGA_AUTH=off` to run an open API.
 */
export function authSettings(config: Pick<Config, 'auth' | 'apiTokens'>): AuthSettings {
  if (config.auth === 'off') return { mode: 'off' };
  if (config.apiTokens.length === 0) {
    throw new ValidationError(
      'the api role needs bearer tokens: set JETSAGA_API_TOKENS="<token>:read,<token>:write" ' +
        '(tokens of 16+ characters), or JETSAGA_AUTH=off to run without auth on a trusted machine',
      [
        { field: 'JETSAGA_API_TOKENS', message: 'no token configured' },
        { field: 'JETSAGA_AUTH', message: 'not off' },
      ],
    );
  }
  return { mode: 'tokens', tokens: config.apiTokens };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer token check. Tokens are compared as SHA-256 digests in constant time, so neither
 * the comparison nor a length difference reveals how much of a guess was right.
 */
export function bearerAuth(settings: AuthSettings): MiddlewareHandler {
  if (settings.mode === 'off') return async (_c, next) => next();
  const known = settings.tokens.map((t) => ({ digest: digest(t.token), scope: t.scope }));
  return async (c, next) => {
    if (c.req.method === 'OPTIONS' || isOpenPath(c.req.path)) return next();
    const header = c.req.header('Authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const needed = requiredScope(c.req.method);
    if (!match) {
      return problem(
        c,
        401,
        {
          title: statusTitle(401),
          detail: header
            ? 'the Authorization header must be "Bearer <token>"'
            : 'this route needs a bearer token: send "Authorization: Bearer <token>"',
        },
        { 'WWW-Authenticate': 'Bearer realm="jetsaga"' },
      );
    }
    const given = digest(match[1]!);
    let scope: ApiScope | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, given)) scope = k.scope;
    if (!scope) {
      return problem(
        c,
        401,
        { title: statusTitle(401), detail: 'the bearer token is not valid' },
        { 'WWW-Authenticate': 'Bearer realm="jetsaga", error="invalid_token"' },
      );
    }
    if (needed === 'write' && scope !== 'write') {
      return problem(
        c,
        403,
        {
          title: statusTitle(403),
          detail: `${c.req.method} ${c.req.path} needs a token with the write scope; this one can only read`,
        },
        { 'WWW-Authenticate': 'Bearer realm="jetsaga", error="insufficient_scope", scope="write"' },
      );
    }
    return next();
  };
}
