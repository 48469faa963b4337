import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TerminalError, TransientError } from 'jetsaga';
import type { Notification } from './messages.ts';
import { webhookSender } from './sender.ts';

const note: Notification = {
  id: 's-1:ended',
  kind: 'order-completed',
  customerId: 'c-1',
  orderId: 'o-1',
  sagaId: 's-1',
  subject: 'Order o-1 is on its way',
  text: 'Your order o-1 is confirmed and shipped.',
};

describe('the webhook sender', () => {
  const seen: Array<{ headers: IncomingMessage['headers']; body: unknown }> = [];
  let status = 202;
  let url = '';
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: JSON.parse(body) });
      res.writeHead(status).end();
    });
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('POSTs the notification as JSON, keyed by its id, with the bearer token', async () => {
    status = 202;
    await webhookSender({ url, token: 'secret', timeoutMs: 2_000 }).send(note);
    expect(seen.at(-1)).toMatchObject({
      headers: {
        'idempotency-key': 's-1:ended',
        authorization: 'Bearer secret',
        'content-type': 'application/json',
      },
      body: note,
    });
  });

  it('asks for a retry on 429 and 5xx, and gives up on any other refusal', async () => {
    const send = () => webhookSender({ url, timeoutMs: 2_000 }).send(note);
    status = 503;
    await expect(send()).rejects.toBeInstanceOf(TransientError);
    status = 429;
    await expect(send()).rejects.toBeInstanceOf(TransientError);
    status = 400;
    await expect(send()).rejects.toBeInstanceOf(TerminalError);
  });

  it('asks for a retry when nobody answers', async () => {
    const closed = webhookSender({ url: 'http://127.0.0.1:9/send', timeoutMs: 500 });
    await expect(closed.send(note)).rejects.toBeInstanceOf(TransientError);
  });
});
