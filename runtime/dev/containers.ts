// Container mode: when a Docker-compatible engine answers, run pinned NATS and MongoDB images with
// testcontainers. testcontainers is a devDependency, so it is imported lazily: production code that
// gets NATS_URL / MONGO_URL never loads it.
import { stat } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

/** Exact tags, so a test run today and next year talk to the same servers. */
export const NATS_IMAGE = 'nats:2.12.1';
export const MONGO_IMAGE = 'mongo:8.0.15';

export interface ContainerService {
  image: string;
  url: string;
  host: string;
  port: number;
  stop(): Promise<void>;
}

type Testcontainers = typeof import('testcontainers');

/**
 * True when a Docker engine answers GET /_ping within timeoutMs. Never throws: any error means "no".
 * Looks where testcontainers looks: DOCKER_HOST when set, else the standard and rootless sockets.
 */
export async function dockerEngineAvailable(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 1000,
): Promise<boolean> {
  const dockerHost = env.DOCKER_HOST;
  if (dockerHost) {
    if (dockerHost.startsWith('unix://'))
      return ping({ socketPath: dockerHost.slice('unix://'.length) }, timeoutMs);
    if (dockerHost.startsWith('tcp://')) {
      // Plain HTTP only: a TLS-protected engine answers 400 here and we fall back to local mode.
      const url = new URL(`http://${dockerHost.slice('tcp://'.length)}`);
      return ping({ host: url.hostname, port: Number(url.port || 2375) }, timeoutMs);
    }
    return false;
  }
  for (const socketPath of defaultSockets(env)) {
    if ((await exists(socketPath)) && (await ping({ socketPath }, timeoutMs))) return true;
  }
  return false;
}

function defaultSockets(env: NodeJS.ProcessEnv): string[] {
  const sockets = ['/var/run/docker.sock'];
  if (env.XDG_RUNTIME_DIR) sockets.push(path.join(env.XDG_RUNTIME_DIR, 'docker.sock'));
  sockets.push(
    path.join(os.homedir(), '.docker', 'run', 'docker.sock'),
    path.join(os.homedir(), '.docker', 'desktop', 'docker.sock'),
  );
  if (typeof process.getuid === 'function') sockets.push(`/run/user/${process.getuid()}/docker.sock`);
  return sockets;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

function ping(
  target: { socketPath: string } | { host: string; port: number },
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ ...target, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** The testcontainers module, or undefined when it is not installed (e.g. a production install). */
export async function loadTestcontainers(): Promise<Testcontainers | undefined> {
  try {
    return await import('testcontainers');
  } catch {
    return undefined;
  }
}

export async function startNatsContainer(tc: Testcontainers): Promise<ContainerService> {
  const container = await new tc.GenericContainer(NATS_IMAGE)
    .withCommand(['-js'])
    .withExposedPorts(4222)
    // Logged after JetStream is enabled, unlike the port opening.
    .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/))
    .start();
  return service(NATS_IMAGE, 'nats', container.getHost(), container.getMappedPort(4222), () =>
    container.stop(),
  );
}

export async function startMongoContainer(tc: Testcontainers): Promise<ContainerService> {
  const container = await new tc.GenericContainer(MONGO_IMAGE)
    .withExposedPorts(27017)
    .withWaitStrategy(tc.Wait.forLogMessage(/Waiting for connections/))
    .withStartupTimeout(120_000) // first run pulls ~300 MB
    .start();
  return service(MONGO_IMAGE, 'mongodb', container.getHost(), container.getMappedPort(27017), () =>
    container.stop(),
  );
}

function service(
  image: string,
  scheme: string,
  host: string,
  port: number,
  stopContainer: () => Promise<unknown>,
): ContainerService {
  let stopping: Promise<void> | undefined;
  return {
    image,
    url: `${scheme}://${host}:${port}`,
    host,
    port,
    stop: () => {
      stopping ??= stopContainer().then(() => undefined);
      return stopping;
    },
  };
}
