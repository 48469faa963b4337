import { z } from '@hono/zod-openapi';
import type { ApiScope } from '../config.ts';
import { ValidationError } from '../errors.ts';
import { ProblemSchema } from './schemas.ts';

export const bearerScheme = 'bearerAuth';

const problemDescriptions: Record<number, string> = {
  400: 'invalid request: `errors` names each field, query parameter or header at fault',
  401: 'no bearer token, or not a valid one',
  403: 'the token lacks the write scope',
  404: 'not found',
  409: 'conflict with the current state',
  413: 'request body too large',
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

/** The problems every authenticated route may answer, beside its own. */
export const authProblems = (scope: ApiScope) => (scope === 'write' ? [401, 403, 503] : [401, 503]);

export const secured = (scope: ApiScope) => [{ [bearerScheme]: [scope] }];

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
