import { Server } from 'node:http';
import { type ServerType, serve } from '@hono/node-server';

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
