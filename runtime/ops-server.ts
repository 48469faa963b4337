// The ops endpoint every jetsaga process serves, whatever its roles: /healthz, /readyz and /metrics
// on its own port (JETSAGA_OPS_PORT), no auth (they hold no data). The api role serves the same
// probes on its API port too; both read one probe set (runtime/http/probes.ts), so one cached result.
import { OpenAPIHono } from '@hono/zod-openapi';
import type { MongoClient } from 'mongodb';
import type { Config } from './config.ts';
import { registerHealthRoutes } from './http/health-routes.ts';
import { type Probe, probeTimeoutMs } from './http/probes.ts';
import { serveApi } from './http/server.ts';
import type { Bus, DurableConsumer } from './messaging/index.ts';
import { renderMetrics } from './observability/index.ts';

export interface OpsServer {
  /** The bound port, the real one when 0 was asked for. */
  port: number;
  /** Where to reach it from this machine (`http://127.0.0.1:<port>` when it listens on 0.0.0.0). */
  url: string;
  close(): Promise<void>;
}

/**
 * The readiness probes of one process: NATS answers a flush, MongoDB a ping (each within
 * `probeTimeoutMs`), and, once the process has started, every durable consumer it runs is consuming.
 * An object of plain probe functions, so the api role's app takes it as its `probes` as it is.
 */
export function nodeProbes(deps: {
  bus: Bus;
  mongo: MongoClient;
  mongoDb: string;
  /** The consumers of the process, read on each check (roles add theirs as they start). */
  consumers: () => readonly DurableConsumer[];
  /** False until every role has started: the process is not ready before. */
  started: () => boolean;
}): { nats: Probe; mongo: Probe; consumers: Probe } {
  return {
    nats: async () => {
      if (deps.bus.nc.isClosed()) return false;
      await deps.bus.nc.flush();
      return true;
    },
    mongo: async () => {
      await deps.mongo.db(deps.mongoDb).command({ ping: 1 }, { timeoutMS: probeTimeoutMs });
      return true;
    },
    consumers: async () => deps.started() && deps.consumers().every((c) => c.running),
  };
}

/** The host and port the ops endpoint listens on: JETSAGA_OPS_HOST, or the HTTP host. */
export function opsAddress(config: Config): { host: string; port: number } {
  return { host: config.opsHost ?? config.httpHost, port: config.opsPort };
}

/** A url for a listen address, reachable from this machine. */
export function localUrl(host: string, port: number): string {
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${local.includes(':') ? `[${local}]` : local}:${port}`;
}

/** Binds /healthz, /readyz and /metrics to host:port; rejects on bind errors, naming the setting. */
export async function serveOps(opts: {
  host: string;
  port: number;
  probes: Record<string, Probe>;
}): Promise<OpsServer> {
  const app = new OpenAPIHono();
  registerHealthRoutes(app, opts.probes);
  app.get('/metrics', async (c) => {
    const { contentType, body } = await renderMetrics();
    return c.body(body, 200, { 'Content-Type': contentType });
  });
  const server = await serveApi(app, { host: opts.host, port: opts.port, shutdownGraceMs: 1_000 }).catch(
    (err: unknown) => {
      throw new Error(
        `ops endpoint: cannot listen on ${opts.host}:${opts.port} (JETSAGA_OPS_HOST / --ops-host, JETSAGA_OPS_PORT / --ops-port; port 0 picks a free one): ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    },
  );
  return { port: server.port, url: localUrl(opts.host, server.port), close: () => server.close() };
}
