import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/** A parsed Server-Sent Event. */
export interface SseEvent {
  event: string;
  id: string | null;
  data: unknown;
}

/** Reads an event stream until `stop` says so (or the server closes it, or the timeout passes). */
export async function readSse(
  url: string,
  init: RequestInit,
  stop: (e: SseEvent, all: SseEvent[]) => boolean,
  timeoutMs = 30_000,
): Promise<{ res: Response; events: SseEvent[] }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const res = await fetch(url, { ...init, signal: abort.signal });
  const events: SseEvent[] = [];
  if (!res.ok || !res.body) {
    clearTimeout(timer);
    return { res, events };
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = 'message';
        let id: string | null = null;
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('id:')) id = line.slice(3).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length === 0) continue;
        const e = { event, id, data: JSON.parse(data.join('\n')) as unknown };
        events.push(e);
        if (stop(e, events)) return { res, events };
      }
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return { res, events };
}

type Doc = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >;
  components: Record<string, unknown>;
};

/**
 * Validates real responses against an OpenAPI 3.1 document: finds the operation by
 * method and path, the response by status, the schema by content type, and checks the
 * body with a JSON Schema 2020-12 validator (OpenAPI 3.1's dialect).
 */
export class SpecValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly cache = new Map<string, ValidateFunction>();
  readonly checked: string[] = [];

  constructor(readonly doc: Doc) {
    this.ajv.addFormat(
      'date-time',
      (s: string) => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s)),
    );
    const rewritten = JSON.parse(
      JSON.stringify(doc.components).replaceAll('"#/components/', '"openapi#/components/'),
    );
    this.ajv.addSchema({ $id: 'openapi', components: rewritten });
  }

  /** The documented path template that a concrete path matches (literal paths first). */
  template(method: string, path: string): string {
    const m = method.toLowerCase();
    const candidates = Object.keys(this.doc.paths).filter((p) => this.doc.paths[p]?.[m]);
    const literal = candidates.find((p) => p === path);
    if (literal) return literal;
    const found = candidates.find((p) =>
      new RegExp(`^${p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`).test(
        path,
      ),
    );
    if (!found) throw new Error(`${method} ${path} is not in the OpenAPI document`);
    return found;
  }

  schemaFor(method: string, path: string, status: number, contentType: string): unknown {
    const template = this.template(method, path);
    const op = this.doc.paths[template]![method.toLowerCase()]!;
    const response = op.responses[String(status)];
    if (!response) throw new Error(`${method} ${template} does not document status ${status}`);
    if (!response.content) return undefined;
    const type = contentType.split(';')[0]!.trim();
    const media = response.content[type];
    if (!media)
      throw new Error(
        `${method} ${template} ${status} documents ${Object.keys(response.content).join(', ')}, not ${type}`,
      );
    return media.schema;
  }

  /** Throws with the validator's errors when the body does not match. */
  validate(method: string, path: string, status: number, contentType: string, body: unknown): void {
    const schema = this.schemaFor(method, path, status, contentType);
    this.checked.push(`${method.toUpperCase()} ${this.template(method, path)} ${status}`);
    if (schema === undefined) return;
    this.validateSchema(schema, body, `${method} ${path} ${status}`);
  }

  validateSchema(schema: unknown, body: unknown, what: string): void {
    const key = JSON.stringify(schema);
    let fn = this.cache.get(key);
    if (!fn) {
      const rewritten = JSON.parse(key.replaceAll('"#/components/', '"openapi#/components/'));
      fn = this.ajv.compile(rewritten);
      this.cache.set(key, fn);
    }
    if (!fn(body))
      throw new Error(`${what}: response does not match the spec: ${this.ajv.errorsText(fn.errors)}`);
  }

  component(name: string): unknown {
    return { $ref: `#/components/schemas/${name}` };
  }

  /** Fetches, validates the answer against the spec, and returns it. */
  async call(
    base: string,
    method: string,
    path: string,
    init: RequestInit = {},
  ): Promise<{ res: Response; body: unknown }> {
    const res = await fetch(`${base}${path}`, { ...init, method, redirect: 'manual' });
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text();
    const body = type.includes('json') && text ? (JSON.parse(text) as unknown) : text;
    this.validate(method, path.split('?')[0]!, res.status, type || 'application/octet-stream', body);
    return { res, body };
  }
}
