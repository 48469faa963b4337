import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ConflictError, type FieldIssue, NotFoundError, TransientError, ValidationError } from '../errors.ts';

export const problemContentType = 'application/problem+json';

/** The members of an RFC 9457 problem the caller chooses; `status` and `instance` come from the exchange. */
export interface ProblemFields {
  title: string;
  detail: string;
  /** A URI naming the problem kind; `about:blank` means "see the status code". */
  type?: string;
  /** The fields at fault, for 400s. */
  errors?: FieldIssue[];
  /** RFC 9457 extension members, e.g. `checks` on a failed readiness probe. */
  [extension: string]: unknown;
}

export interface ProblemDetails extends ProblemFields {
  type: string;
  status: number;
  instance: string;
}

/** A problem chosen for an error, before it is bound to a request. */
export interface MappedProblem {
  status: ContentfulStatusCode;
  fields: ProblemFields;
  /** True when the error is a bug or an unclassified failure: log it with its stack. */
  unexpected: boolean;
  headers?: Record<string, string>;
}

const statusTitles: Partial<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** What a 415 says: the API reads JSON bodies only. */
export const unsupportedDetail = 'send the body as application/json (or an application/*+json type)';

export function statusTitle(status: number): string {
  return statusTitles[status] ?? `HTTP ${status}`;
}

/** Answers with an RFC 9457 problem document; `instance` is the request path so a report can be traced. */
export function problem(
  c: Context,
  status: ContentfulStatusCode,
  fields: ProblemFields,
  headers: Record<string, string> = {},
): Response {
  const body: ProblemDetails = {
    ...fields,
    type: fields.type ?? 'about:blank',
    title: fields.title,
    status,
    detail: fields.detail,
    instance: c.req.path,
  };
  return c.body(JSON.stringify(body), status, { ...headers, 'Content-Type': problemContentType });
}

/**
 * The one place that maps a thrown value to a problem: runtime errors by class, Hono's own
 * exceptions by their status, anything else to a 500 whose detail leaks nothing internal.
 */
export function toProblem(err: unknown): MappedProblem {
  if (err instanceof ValidationError) {
    return {
      status: 400,
      fields: { title: statusTitle(400), detail: err.message, errors: err.issues },
      unexpected: false,
    };
  }
  if (err instanceof NotFoundError) return expected(404, err.message);
  if (err instanceof ConflictError) return expected(409, err.message);
  // Retry-After tells well-behaved clients to back off instead of hammering a briefly absent store.
  if (err instanceof TransientError)
    return { ...expected(503, err.message), headers: { 'Retry-After': '1' } };
  // The OpenAPI layer's own media-type gate (behind the API's, for a route that has none)
  // says only "Unsupported Media Type": name the type expected.
  if (err instanceof HTTPException && err.status === 415 && err.message === statusTitle(415))
    return expected(415, unsupportedDetail);
  if (err instanceof HTTPException && err.status < 500) return expected(err.status, err.message);
  return {
    status: 500,
    fields: { title: statusTitle(500), detail: 'an unexpected error occurred; it has been logged' },
    unexpected: true,
  };
}

function expected(status: ContentfulStatusCode, detail: string): MappedProblem {
  return {
    status,
    fields: { title: statusTitle(status), detail: detail || statusTitle(status) },
    unexpected: false,
  };
}
