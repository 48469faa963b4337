import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { type AuthSettings, anonymousCaller, apiScopes, callerOf, callerScopeOf } from './auth.ts';
import { authProblems, json, problemResponses, scoped } from './openapi-util.ts';

export const SessionSchema = z
  .object({
    caller: z.string().openapi({ description: 'the token name, `anonymous` with auth off' }),
    scope: z.enum(apiScopes).openapi({ description: 'what this token may do (`admin` with auth off)' }),
    auth: z.enum(['tokens', 'off']),
  })
  .openapi('Session');

/**
 * `GET /v1/session`: who the caller is and what its token may do, so that a client (the inspector)
 * can disable the actions its token would be refused, rather than learn it from a 403.
 */
export function registerSessionRoutes(app: OpenAPIHono, auth: AuthSettings): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/session',
      tags: ['sagas'],
      operationId: 'getSession',
      summary: "The caller: its token's name and scope",
      description:
        "The name of the bearer token's owner and the token's scope (`read`, `write` or `admin`), so that a client offers only what the token may do instead of learning it from a 403. With auth off the caller is `anonymous` and the scope `admin`.",
      ...scoped('getSession'),
      responses: { 200: json(SessionSchema, 'the caller'), ...problemResponses(...authProblems('read')) },
    }),
    (c) =>
      c.json(
        {
          caller: callerOf(c) ?? anonymousCaller,
          scope: callerScopeOf(c) ?? 'read',
          auth: auth.mode,
        },
        200,
      ),
  );
}
