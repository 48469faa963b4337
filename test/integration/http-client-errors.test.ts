import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useTestNode } from '../harness.ts';

/**
 * Requests Node's HTTP parser refuses before the app sees them get a problem document too, as an
 * API fuzzer expects of every 4xx: over-long query strings and malformed request lines.
 */
describe('HTTP requests refused before the app', () => {
  const node = useTestNode();

  it('a query string over 16 KiB: 431 with a problem document that says what to do', async () => {
    const long = 'a'.repeat(20_000);
    const res = await fetch(`${node().api!.url}/v1/sagas?type=${long}&status=${long}&cursor=${long}`);
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({
      status: 431,
      title: 'Request Header Fields Too Large',
      detail: expect.stringContaining('send long values in a JSON body'),
    });
  });

  it('a request that is not HTTP: 400 with a problem document, then the connection closes', async () => {
    const url = new URL(node().api!.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.write('HELLO THERE\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(head).toContain('Content-Type: application/problem+json');
    expect(JSON.parse(body!)).toMatchObject({
      status: 400,
      detail: expect.stringContaining('not valid HTTP/1.1'),
    });
    // The API still answers afterwards.
    expect((await fetch(`${node().api!.url}/healthz`)).status).toBeLessThan(500);
  });
});
