import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { scenarios } from '../../demo/scenarios.ts';
import { waitUntil } from '../harness.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** `jetsaga dev` as a user runs it, minus tsx's wrapper process, so that signals reach it directly. */
class DevProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | NodeJS.Signals>;
  stdout = '';
  stderr = '';

  constructor(dataDir: string) {
    // Without NATS_URL / MONGO_URL: it starts its own servers, with their data in dataDir.
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
    for (const name of [
      'NATS_URL',
      'MONGO_URL',
      'JETSAGA_NAMESPACE',
      'JETSAGA_MONGO_DB',
      'JETSAGA_AUTH',
      'JETSAGA_HTTP_PORT',
    ])
      delete env[name];
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bin/jetsaga.ts', 'dev', '--data-dir', dataDir, '--port', '0'],
      { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    // 'close', not 'exit': it comes once stdout and stderr are drained, so what the run printed
    // last (the reason it refused to start) is in `stderr` by then.
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => resolve(code ?? signal ?? -1)),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A URL from the printed block, e.g. "API" or "Inspector"; rejects if it exits first. */
  async url(label: string): Promise<string> {
    const pattern = new RegExp(`^\\s*${label}\\s+(http://\\S+)`, 'm');
    return until(`the ${label} URL`, async () => {
      const match = pattern.exec(this.stdout);
      if (match) return match[1];
      if (!this.running) throw new Error(`jetsaga dev exited before printing its URLs:\n${this.output()}`);
      return undefined;
    });
  }

  output(): string {
    return `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr.split('\n').slice(-30).join('\n')}`;
  }

  /** Ctrl-C, then the exit code. */
  async interrupt(): Promise<number | NodeJS.Signals> {
    this.child.kill('SIGINT');
    return this.exited;
  }
}

/** Polls until `f` gives a value; an error thrown by `f` ends the wait at once. */
const until = <T>(what: string, f: () => Promise<T | undefined>, ms = 120_000): Promise<T> =>
  waitUntil(f, what, ms, 100) as Promise<T>;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

interface SagaView {
  sagaId: string;
  status: string;
  rev: number;
}
type History = Array<{ rev: number; status: string }>;

describe('jetsaga dev', () => {
  const started: DevProcess[] = [];
  /** Server pids of a run the test kills outright, in case the test fails before the next run stops them. */
  const leftovers: number[] = [];
  let dataDir: string | undefined;
  const dev = (dir: string) => {
    const p = new DevProcess(dir);
    started.push(p);
    return p;
  };

  afterAll(async () => {
    // SIGTERM first: the servers it started stop with it (a SIGKILLed dev would leave them running).
    for (const p of started.filter((p) => p.running)) {
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
      await p.exited;
      clearTimeout(timer);
    }
    for (const pid of leftovers.filter(alive)) process.kill(pid, 'SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('serves every role, refuses a second run on its data dir and keeps sagas across restarts', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'jetsaga-dev-test-'));
    const first = dev(dataDir);
    const api = await first.url('API');

    const inspector = await fetch(await first.url('Inspector'));
    expect(inspector.status).toBe(200);
    expect(inspector.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await inspector.text()).toMatch(/<html/i);

    const happy = scenarios.find((s) => s.expect === 'completed')!;
    const res = await fetch(`${api}/v1/saga-types/order-fulfillment/sagas`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(happy.input(0)),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };
    const done = await until('the saga to complete', async () => {
      const { body } = await getJson<SagaView>(`${api}/v1/sagas/${sagaId}`);
      return body.status === 'completed' ? body : undefined;
    });
    // The history copy lands after the transition's own write.
    const history = await until('the history to be copied', async () => {
      const { body } = await getJson<History>(`${api}/v1/sagas/${sagaId}/history`);
      return body.at(-1)?.rev === done.rev ? body : undefined;
    });

    const second = dev(dataDir);
    expect(await second.exited, second.output()).toBe(1);
    expect(second.stderr).toContain(`another jetsaga dev (pid ${first.child.pid}) is using ${dataDir}`);
    expect(second.stderr).toContain('stop it first or pass --data-dir');
    expect(first.running).toBe(true);

    expect(await first.interrupt(), first.output()).toBe(0);
    expect(existsSync(path.join(dataDir, 'dev.lock'))).toBe(false);

    const third = dev(dataDir);
    const api3 = await third.url('API');
    const again = await getJson<SagaView>(`${api3}/v1/sagas/${sagaId}`);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ sagaId, status: 'completed', rev: done.rev });
    const historyAgain = await getJson<History>(`${api3}/v1/sagas/${sagaId}/history`);
    expect(historyAgain.body).toEqual(history);

    // A run killed outright leaves its servers running on the dir; the next run stops them first.
    const { servers } = JSON.parse(await readFile(path.join(dataDir, 'dev.lock'), 'utf8')) as {
      servers: Array<{ name: string; pid: number }>;
    };
    expect(servers.map((s) => s.name).sort()).toEqual(['mongo-java-server', 'nats-server']);
    leftovers.push(...servers.map((s) => s.pid));
    third.child.kill('SIGKILL');
    await third.exited;
    const fourth = dev(dataDir);
    const api4 = await fourth.url('API');
    // Written to stderr before the URLs went to stdout, but the two pipes are read apart.
    await waitUntil(
      () =>
        fourth.stderr.includes('stopping nats-server') &&
        fourth.stderr.includes('stopping mongo-java-server'),
      () => `the run to say it stopped the servers left behind:\n${fourth.output()}`,
      10_000,
    );
    // (Its pids may linger as zombies until the system reaps them; a new mongo-java-server could not
    // have opened the H2 file while the old one held it.)
    const afterCrash = await getJson<SagaView>(`${api4}/v1/sagas/${sagaId}`);
    expect(afterCrash.body).toMatchObject({ sagaId, status: 'completed', rev: done.rev });

    expect(await fourth.interrupt(), fourth.output()).toBe(0);
  }, 300_000);
});
