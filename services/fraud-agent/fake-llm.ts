import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake endpoint behaves for the next requests. */
export type LlmMode =
  | { kind: 'answer'; content: string }
  | { kind: 'slow'; ms: number }
  | { kind: 'status'; status: number }
  | { kind: 'garbage' };

/**
 * A local OpenAI-compatible chat endpoint (`POST /v1/chat/completions`) on 127.0.0.1,
 * with the failure modes the fraud agent must survive: slow answers, server errors and
 * bodies that are not what the protocol promises.
 */
export class FakeLlm {
  mode: LlmMode = { kind: 'answer', content: '{"verdict":"approve","reason":"looks fine"}' };
  readonly requests: Array<{
    path: string;
    auth: string | undefined;
    body: { model: string; messages: Array<{ role: string; content: string }> };
  }> = [];
  private server?: Server;

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void readBody(req).then((raw) => {
        this.requests.push({ path: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(raw) });
        const mode = this.mode;
        if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
          res.writeHead(404).end();
        } else if (mode.kind === 'slow') {
          const timer = setTimeout(
            () => reply(res, 200, chat('{"verdict":"flag","reason":"too late"}')),
            mode.ms,
          );
          res.on('close', () => clearTimeout(timer));
        } else if (mode.kind === 'status') {
          reply(res, mode.status, { error: { message: 'upstream exploded' } });
        } else if (mode.kind === 'garbage') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json');
        } else {
          reply(res, 200, chat(mode.content));
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const chat = (content: string) => ({
  id: 'chatcmpl-test',
  object: 'chat.completion',
  choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
});

function reply(res: import('node:http').ServerResponse, status: number, body: unknown) {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
