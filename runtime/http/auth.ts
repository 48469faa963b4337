import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Config } from '../config.ts';
import { ValidationError } from '../errors.ts';
import { problem, statusTitle } from './problem.ts';
import {
  anonymousCaller,
  type ApiScope,
  type ApiToken,
  type ApiTokenEntry,
  checkApiTokens,
  scopeCovers,
} from '../api-tokens.ts';

export {
  anonymousCaller,
  type ApiScope,
  type ApiToken,
  type ApiTokenEntry,
  apiScopes,
  checkApiTokens,
  parseApiTokens,
  scopeCovers,
} from '../api-tokens.ts';

/**
 * The scope each operation needs, by operationId: the one table that the auth middleware
 * enforces and that the OpenAPI document shows (`security` and `x-required-scope` of each
 * operation). `read` reads; `write` starts, signals and cancels sagas; `admin` is for
 * operator actions (resuming a stalled saga, replaying and deleting dead letters). An operation missing here needs
 * `admin`, so a route added without an entry is closed, not open.
 */
export const operationScopes = {
  listSagas: 'read',
  getSaga: 'read',
  getSagaHistory: 'read',
  replaySaga: 'read',
  followSaga: 'read',
  listSagaTypes: 'read',
  getSagaDefinition: 'read',
  listDeadLetters: 'read',
  getOverview: 'read',
  getAsyncApi: 'read',
  getSession: 'read',
  startSaga: 'write',
  cancelSaga: 'write',
  signalSaga: 'write',
  resumeSaga: 'admin',
  replayDeadLetter: 'admin',
  deleteDeadLetter: 'admin',
} as const satisfies Record<string, ApiScope>;
export type ScopedOperation = keyof typeof operationScopes;

/** The scope an operation needs; `admin` for one the table does not know (fail closed). */
export function requiredScope(operationId: string): ApiScope {
  return Object.hasOwn(operationScopes, operationId)
    ? operationScopes[operationId as ScopedOperation]
    : 'admin';
}

/** How the API authenticates: bearer tokens with a scope each, or nothing (local use). */
export type AuthSettings = { mode: 'off' } | { mode: 'tokens'; tokens: readonly ApiToken[] };

/**
 * Paths anyone may call: probes, metrics, and pages that hold no data (the UI asks for a token
 * itself). The asset patterns take any character (`s`): a decoded path may hold a line break, and
 * an unknown asset is a 404 for anyone, not a 401.
 */
const openPaths = [
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/metrics$/,
  /^\/openapi\.json$/,
  /^\/docs(\/.*)?$/s,
  /^\/ui(\/.*)?$/s,
  /^\/$/,
];

export const isOpenPath = (path: string) => openPaths.some((p) => p.test(path));

/**
 * The auth settings of a config. Refuses the silent default: with no token configured,
 * the operator must say `JETSAGA_AUTH=off` to run an open API.
 */
export function authSettings(config: {
  auth: Config['auth'];
  apiTokens: readonly ApiTokenEntry[];
}): AuthSettings {
  if (config.auth === 'off') return { mode: 'off' };
  if (config.apiTokens.length === 0) {
    throw new ValidationError(
      'the api role needs bearer tokens: set JETSAGA_API_TOKENS="<token>:read,ops:<token>:admin" ' +
        '(tokens of 16+ characters, an optional name first), or JETSAGA_AUTH=off to run without auth on a trusted machine',
      [
        { field: 'JETSAGA_API_TOKENS', message: 'no token configured' },
        { field: 'JETSAGA_AUTH', message: 'not off' },
      ],
    );
  }
  const { tokens, issues } = checkApiTokens(config.apiTokens);
  if (issues.length > 0) {
    throw new ValidationError(
      `invalid JETSAGA_API_TOKENS:\n${issues.map((m) => `  ${m}`).join('\n')}`,
      issues.map((message) => ({ field: 'JETSAGA_API_TOKENS', message })),
    );
  }
  return { mode: 'tokens', tokens };
}

const callerKey = 'jetsaga.caller';
const scopeKey = 'jetsaga.scope';

/**
 * The name of the token that made this request (`anonymous` with auth off); undefined
 * before auth has run or when the request carried no valid token.
 */
export function callerOf(c: Context): string | undefined {
  return c.get(callerKey) as string | undefined;
}

const operationMark = Symbol('jetsaga.operation');
type MarkedHandler = MiddlewareHandler & { [operationMark]?: string };

/**
 * The scope of the token that made this request (`admin` with auth off: anyone may do anything);
 * undefined before auth has run or when the request carried no valid token.
 */
export function callerScopeOf(c: Context): ApiScope | undefined {
  return c.get(scopeKey) as ApiScope | undefined;
}

/**
 * A no-op route middleware naming the route's operation, so that the auth middleware (which
 * runs before any route) knows which operation a request is for and what scope it needs.
 */
export function operationMarker(operationId: string): MiddlewareHandler {
  const marker: MarkedHandler = async (_c, next) => {
    await next();
  };
  marker[operationMark] = operationId;
  return marker;
}

/**
 * The operation a request was routed to: its id, `null` for a route without a marker, or
 * undefined when no route matched (the request is headed for a 404).
 */
function operationOf(c: Context): string | null | undefined {
  let routed = false;
  for (const route of matchedRoutes(c)) {
    const id = (route.handler as MarkedHandler)[operationMark];
    if (id !== undefined) return id;
    if (route.method !== 'ALL') routed = true;
  }
  return routed ? null : undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer token check, then the scope of the operation from `operationScopes`. Tokens are
 * compared as SHA-256 digests in constant time, so neither the comparison nor a length
 * difference reveals how much of a guess was right. The caller's token name is kept on the
 * request (`callerOf`) for the request log and the saga history.
 */
export function bearerAuth(settings: AuthSettings): MiddlewareHandler {
  if (settings.mode === 'off') {
    return async (c, next) => {
      c.set(callerKey, anonymousCaller);
      c.set(scopeKey, 'admin');
      await next();
    };
  }
  const known = settings.tokens.map((t) => ({ digest: digest(t.token), name: t.name, scope: t.scope }));
  return async (c, next) => {
    if (c.req.method === 'OPTIONS' || isOpenPath(c.req.path)) return next();
    const header = c.req.header('Authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
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
    let caller: (typeof known)[number] | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, given)) caller = k;
    if (!caller) {
      return problem(
        c,
        401,
        { title: statusTitle(401), detail: 'the bearer token is not valid' },
        { 'WWW-Authenticate': 'Bearer realm="jetsaga", error="invalid_token"' },
      );
    }
    c.set(callerKey, caller.name);
    c.set(scopeKey, caller.scope);
    const operation = operationOf(c);
    // No route: any valid token may learn that (404); a route without a scope: admin only.
    const needed = operation === undefined ? 'read' : requiredScope(operation ?? '');
    if (!scopeCovers(caller.scope, needed)) {
      return problem(
        c,
        403,
        {
          title: statusTitle(403),
          detail: `${c.req.method} ${c.req.path}${operation ? ` (${operation})` : ''} needs a token with the ${needed} scope; token ${caller.name} has the ${caller.scope} scope`,
          requiredScope: needed,
        },
        {
          'WWW-Authenticate': `Bearer realm="jetsaga", error="insufficient_scope", scope="${needed}"`,
        },
      );
    }
    return next();
  };
}
