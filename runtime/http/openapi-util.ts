import { z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ValidationError } from '../errors.ts';
import { type ApiScope, operationMarker, operationScopes, type ScopedOperation } from './auth.ts';
import { unsupportedDetail } from './problem.ts';
import { ProblemSchema } from './schemas.ts';

export const bearerScheme = 'bearerAuth';

const problemDescriptions: Record<number, string> = {
  400: 'invalid request: `errors` names each field, query parameter or header at fault',
  401: 'no bearer token, or not a valid one',
  403: "the token's scope is below the one this operation needs (`x-required-scope`)",
  404: 'not found',
  409: 'conflict with the current state',
  413: 'request body too large',
  415: 'the body is not JSON: send it with Content-Type: application/json (or an application/*+json type)',
  422: 'Idempotency-Key reused with a different body',
  503: 'a dependency (NATS, MongoDB) is unavailable; retry after the Retry-After header',
};

/** Problem responses for a route: every error leaves as application/problem+json. */
export function problemResponses(...statuses: number[]) {
  const out: Record<
    number,
    { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema } } }
  > = {};
  for (const status of statuses)
    out[status] = {
      description: problemDescriptions[status] ?? 'error',
      content: { 'application/problem+json': { schema: ProblemSchema } },
    };
  return out;
}

/** The problems every authenticated route may answer, beside its own (`read` is the lowest scope: no 403). */
export const authProblems = (scope: ApiScope) => (scope === 'read' ? [401, 503] : [401, 403, 503]);

export const secured = (scope: ApiScope) => [{ [bearerScheme]: [scope] }];

/**
 * How the document shows the scope of an operation, from `operationScopes`: `security`
 * with the scope, and `x-required-scope`.
 */
export function scopeOf(operation: ScopedOperation) {
  const scope = operationScopes[operation];
  return { security: secured(scope), 'x-required-scope': scope };
}

/**
 * The scope declaration of a served route: what the document shows (`scopeOf`) and the
 * marker by which the auth middleware finds the route's operation and enforces that scope.
 * `more` are route middleware to run after it.
 */
export function scoped(operation: ScopedOperation, ...more: MiddlewareHandler[]) {
  return { ...scopeOf(operation), middleware: [operationMarker(operation), ...more] };
}

/** Media types a body may have: application/json or application/*+json, with parameters. */
const jsonMediaType = /^application\/([a-z.-]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/**
 * Refuses a body that is not JSON with a 415 problem naming the expected type. A body
 * without Content-Type is refused too; a missing body passes unless `required`.
 */
export async function assertJsonBody(c: Context, required: boolean): Promise<void> {
  const type = c.req.header('Content-Type')?.trim() ?? '';
  if (type === '' && !required && (await c.req.text()) === '') return;
  if (jsonMediaType.test(type)) return;
  const got = type === '' ? 'no Content-Type' : `Content-Type ${JSON.stringify(type.slice(0, 100))}`;
  throw new HTTPException(415, { message: `${unsupportedDetail}; got ${got}` });
}

/** `assertJsonBody` as route middleware, for routes whose body is optional. */
export const optionalJsonBody: MiddlewareHandler = async (c, next) => {
  await assertJsonBody(c, false);
  await next();
};

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/**
 * Turns a failed request validation into the API's 400 problem, naming the query
 * parameter, header, path parameter or body field at fault.
 */
export function validationHook(result: { success: boolean; error?: z.ZodError; target: string }): void {
  if (result.success || !result.error) return;
  const issues = result.error.issues.map((i) => ({
    field: i.path.join('.') || (result.target === 'json' ? 'body' : result.target),
    message: i.message,
  }));
  const where =
    result.target === 'query'
      ? 'query parameter'
      : result.target === 'header'
        ? 'header'
        : result.target === 'param'
          ? 'path parameter'
          : 'field';
  throw new ValidationError(
    `invalid ${where}: ${[...new Set(issues.map((i) => i.field))].join(', ')}`,
    issues,
  );
}

/** `order-fulfillment` -> `OrderFulfillment`: how a saga type or a signal name enters an operation id. */
export const pascalCase = (name: string): string =>
  name.replace(/(^|-)([a-z0-9])/g, (_m, _d, ch: string) => ch.toUpperCase());
