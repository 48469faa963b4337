// Loopback ports for local servers: a free one, and waiting until one can be bound or answers.
import net from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** Lets the kernel pick a free port; there is a small window where another process may take it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('jetsaga: could not allocate a free port'));
      });
    });
  });
}

/** Waits until `port` can be bound on loopback, i.e. the previous holder has let go of it. */
export async function waitUntilBindable(port: number, timeoutMs: number, name: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canBind(port))) {
    if (Date.now() > deadline) {
      throw new Error(`jetsaga: cannot restart ${name}: port ${LOOPBACK}:${port} is held by another process`);
    }
    await delay(100);
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
  });
}

export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
