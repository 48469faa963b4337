import { describe, expect, it } from 'vitest';
import { asyncApiOf } from '../../runtime/contracts/index.ts';
import { appForTests } from '../dist.ts';
import { useTestNode } from '../harness.ts';
import { asyncApiErrors } from '../unit/asyncapi-support.ts';

/** A running api role serves the app's AsyncAPI document beside /openapi.json, and it validates. */
describe('/asyncapi.json', () => {
  const node = useTestNode({ roles: [{ kind: 'api' }] });

  it('answers the document of the app, which the official parser validates', async () => {
    const res = await node().fetch('/asyncapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const doc = (await res.json()) as { asyncapi: string; channels: Record<string, unknown> };
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc).toEqual(JSON.parse(JSON.stringify(asyncApiOf(appForTests))));
    expect(await asyncApiErrors(doc)).toEqual([]);
  }, 60_000);

  it('is in /openapi.json with the read scope', async () => {
    const spec = (await (await node().fetch('/openapi.json')).json()) as {
      paths: Record<string, { get?: { operationId: string; 'x-required-scope'?: string } }>;
    };
    expect(spec.paths['/asyncapi.json']?.get).toMatchObject({
      operationId: 'getAsyncApi',
      'x-required-scope': 'read',
    });
  });
});
