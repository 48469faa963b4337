import { Server } from 'node:http';
import type { Socket } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { problemContentType } from './problem.ts';

export interface RunningApi {
  /** The bound port, the real one when 0 was asked for. */
  port: number;
  /** Stops accepting connections, lets in-flight requests finish (up to the grace period), drops idle sockets. */
  close(): Promise<void>;
}

/** Binds the app to host:port; resolves once listening and rejects on bind errors such as EADDRINUSE. */
export async function serveApi(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  opts: { host: string; port: number; shutdownGraceMs?: number },
): Promise<RunningApi> {
  const graceMs = opts.shutdownGraceMs ?? 10_000;
  const server = await new Promise<ServerType>((resolve, reject) => {
    const listening = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port }, () => {
      listening.off('error', reject);
      resolve(listening);
    });
    listening.once('error', reject);
  });
  if (server instanceof Server) server.on('clientError', answerClientError);
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error(`unexpected listen address ${address}`);
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // A request that hangs past the grace period must not hold the process's shutdown forever.
        const deadline = setTimeout(() => {
          if (server instanceof Server) server.closeAllConnections();
        }, graceMs);
        server.close((err) => {
          clearTimeout(deadline);
          if (err) reject(err);
          else resolve();
        });
        // Without this an idle keep-alive client holds close() open until its socket times out.
        if (server instanceof Server) server.closeIdleConnections();
      }),
  };
}

/**
 * A request Node's HTTP parser refuses before the app sees it (headers or URL over Node's 16 KiB,
 * a malformed request line) is answered as every other refusal is, a problem document that says
 * what to fix, instead of Node's bare status line; then the connection is closed, as Node does.
 */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  // Answered already: what the client still sends fails to parse again, and changes nothing.
  if (socket.writableEnded) return;
  // Something was written already (a response under way), or nobody is there to read it.
  if (err.code === 'ECONNRESET' || !socket.writable || socket.bytesWritten > 0) {
    socket.destroy();
    return;
  }
  const [status, title, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          'the request line and headers are over 16 KiB: send long values in a JSON body, or fewer or shorter query parameters',
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request did not arrive whole in time: send it again']
        : [400, 'Bad Request', `the request is not valid HTTP/1.1 (${err.code ?? err.message})`];
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: ${problemContentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
