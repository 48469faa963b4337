// Toxiproxy for the fault tests: a TCP proxy between a role and NATS or the store whose link can be
// cut, slowed, throttled, reset or frozen on demand. The binary is built from the Go module proxy into
// the binary cache like nats-server; the client below speaks its small HTTP API.
import { chmod, rename } from 'node:fs/promises';
import path from 'node:path';
import { type BinaryOptions, buildIntoCache, cacheBinDir, defaultLog } from './cache.ts';
import { isExecutable } from './exec.ts';
import { ManagedProcess } from './local-process.ts';
import { requireGo, runTool } from './toolchains.ts';

export const TOXIPROXY_VERSION = 'v2.5.0';

/** An explicit binary (JETSAGA_TOXIPROXY), the cached build, or a fresh build with the Go toolchain. */
export async function ensureToxiproxy(opts: BinaryOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLog;
  const explicit = env.JETSAGA_TOXIPROXY;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new Error(`jetsaga: JETSAGA_TOXIPROXY=${explicit} is not an executable file`);
  }
  const cached = path.join(cacheBinDir(env), `toxiproxy-server-${TOXIPROXY_VERSION}`);
  if (await isExecutable(cached)) return cached;
  const label = `toxiproxy ${TOXIPROXY_VERSION}`;
  const go = await requireGo(env, label, 'or set JETSAGA_TOXIPROXY to a toxiproxy-server binary');
  return buildIntoCache({ label, target: cached, log, duration: '~1 min' }, async (outDir) => {
    // As for nats-server: a private GOBIN, and no enclosing go.mod in the way.
    await runTool(go, ['install', `github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}`], {
      cwd: outDir,
      env: { ...env, GOBIN: outDir, CGO_ENABLED: '0' },
      label,
    });
    const bin = path.join(outDir, 'toxiproxy-server');
    await rename(path.join(outDir, 'server'), bin);
    await chmod(bin, 0o755);
    return bin;
  });
}

/** A toxiproxy-server on loopback; its `url` (http://127.0.0.1:<port>) is the API's. */
export function toxiproxyProcess(command: string): ManagedProcess {
  return new ManagedProcess({
    name: 'toxiproxy',
    command,
    scheme: 'http',
    storeSubdir: 'toxiproxy',
    args: ({ host, port }) => ['-host', host, '-port', String(port)],
  });
}

/** What a toxic does; `attributes` are the type's own (toxiproxy's README, "Toxics"). */
export type Toxic =
  | { type: 'latency'; attributes: { latency: number; jitter?: number } }
  | { type: 'bandwidth'; attributes: { rate: number } }
  | { type: 'slow_close'; attributes: { delay: number } }
  /** Data stops flowing; the connection is closed after `timeout` ms, or never with 0 (half-open). */
  | { type: 'timeout'; attributes: { timeout: number } }
  /** The connection is reset (RST) after `timeout` ms. */
  | { type: 'reset_peer'; attributes: { timeout: number } }
  | { type: 'slicer'; attributes: { average_size: number; size_variation?: number; delay?: number } }
  | { type: 'limit_data'; attributes: { bytes: number } };

export interface ToxicSpec {
  name: string;
  toxic: Toxic;
  /** Which direction it slows: toward the server (`upstream`) or toward the client (default). */
  stream?: 'upstream' | 'downstream';
  /** The share of connections it applies to, 0..1 (default 1). */
  toxicity?: number;
}

export interface ProxyInfo {
  name: string;
  /** `127.0.0.1:<port>`: where clients connect instead of the upstream. */
  listen: string;
  upstream: string;
  enabled: boolean;
}

/**
 * The toxiproxy HTTP API, with fetch: the npm clients of it are unmaintained, and the few calls the
 * fault tests make (create a proxy, cut or restore it, add and remove toxics, reset) fit here.
 */
export class ToxiproxyClient {
  constructor(readonly apiUrl: string) {}

  /** A proxy listening on a free loopback port toward `upstream` (`host:port`). */
  async createProxy(name: string, upstream: string): Promise<ProxyInfo> {
    return this.call<ProxyInfo>('POST', '/proxies', { name, listen: '127.0.0.1:0', upstream, enabled: true });
  }

  /**
   * Cuts (false) or restores (true) a proxy: cut, it closes its connections and refuses new ones, as
   * a network partition between the two sides looks to each of them.
   */
  async setEnabled(name: string, enabled: boolean): Promise<ProxyInfo> {
    return this.call<ProxyInfo>('POST', `/proxies/${encodeURIComponent(name)}`, { enabled });
  }

  async addToxic(proxy: string, spec: ToxicSpec): Promise<void> {
    await this.call('POST', `/proxies/${encodeURIComponent(proxy)}/toxics`, {
      name: spec.name,
      type: spec.toxic.type,
      stream: spec.stream ?? 'downstream',
      toxicity: spec.toxicity ?? 1,
      attributes: spec.toxic.attributes,
    });
  }

  async removeToxic(proxy: string, name: string): Promise<void> {
    await this.call('DELETE', `/proxies/${encodeURIComponent(proxy)}/toxics/${encodeURIComponent(name)}`);
  }

  /** Every proxy enabled again and every toxic removed. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }

  private async call<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.apiUrl}${route}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`toxiproxy ${method} ${route}: ${res.status} ${text.trim()}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
