import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { readJsonObject } from './start-request.ts';

/** readJsonObject over a real request: what it returns, or the issues of its ValidationError. */
async function read(body: string): Promise<Record<string, unknown> | ValidationError> {
  const app = new Hono();
  let out: Record<string, unknown> | ValidationError | undefined;
  app.post('/', async (c) => {
    out = await readJsonObject(c.req).catch((err: unknown) => {
      if (err instanceof ValidationError) return err;
      throw err;
    });
    return c.body(null, 204);
  });
  const res = await app.request('/', { method: 'POST', body });
  expect(res.status).toBe(204);
  return out!;
}

describe('readJsonObject', () => {
  it('returns an ordinary object', async () => {
    expect(await read('{"a":1,"b":[1.5,-2e10,null],"c":{"d":0}}')).toEqual({
      a: 1,
      b: [1.5, -2e10, null],
      c: { d: 0 },
    });
  });

  it('refuses numbers that JSON.parse turns into Infinity, naming each field', async () => {
    const err = await read('{"price":1e400,"items":[{"qty":1},{"qty":-1e999}],"ok":1e308}');
    expect(err).toBeInstanceOf(ValidationError);
    const issues = (err as ValidationError).issues;
    expect(issues.map((i) => i.field)).toEqual(['price', 'items.1.qty']);
    expect(issues[0]!.message).toContain('finite');
    expect((err as ValidationError).message).toContain('price');
  });

  it('walks deeply nested bodies without overflowing the stack', async () => {
    const depth = 200_000;
    const body = `{"deep":${'['.repeat(depth)}1e400${']'.repeat(depth)}}`;
    const err = (await read(body)) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues[0]!.field.startsWith('deep.0.0')).toBe(true);
  });

  it('lists a bounded number of issues', async () => {
    const err = (await read(
      `{"xs":[${Array.from({ length: 1000 }, () => '1e400').join(',')}]}`,
    )) as ValidationError;
    expect(err.issues.length).toBeLessThanOrEqual(20);
    expect(err.message).toMatch(/1000/);
  });
});
