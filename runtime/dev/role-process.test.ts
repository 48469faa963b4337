// RoleProcess with a stand-in for a role: a script that logs the start line, answers over IPC, writes
// its summary on SIGTERM, or dies before it started. And the exit hooks it shares with ManagedProcess:
// a role still running when its parent exits dies with it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RoleProcess } from './role-process.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'jetsaga-role-process-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// MODE=fail: dies before its start line; otherwise logs it, answers `{type: 'ping'}`, stops on SIGTERM.
writeFileSync(
  path.join(dir, 'role.mjs'),
  `
const log = (o) => process.stdout.write(JSON.stringify({ level: 30, ...o }) + '\\n');
if (process.env.MODE === 'fail') {
  process.stderr.write('cannot reach the store\\n');
  process.exit(3);
}
process.on('message', (m) => process.send({ id: m.id, pong: m.n + 1 }));
process.on('SIGTERM', () => {
  log({ msg: 'orchestrator stopped', processed: 7 });
  process.exit(0);
});
setInterval(() => log({ msg: 'tick' }), 50);
process.stderr.write('a line that is not JSON\\n');
log({ msg: 'jetsaga started', api: process.argv[2] === 'api' ? 'http://127.0.0.1:1234' : null });
`,
);

const role = (name: string, env: NodeJS.ProcessEnv = {}) =>
  new RoleProcess({
    name,
    args: [name],
    script: 'role.mjs',
    cwd: dir,
    env: { PATH: process.env.PATH, ...env },
    logFile: path.join(dir, `${name}.log`),
    ipc: true,
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('RoleProcess', () => {
  it('starts on the start line, answers requests, and is killed, restarted and stopped', async () => {
    const r = role('api');
    await r.start(10_000);
    expect(r.running).toBe(true);
    expect(r.url).toBe('http://127.0.0.1:1234');
    expect(await r.waitFor((l) => l.msg === 'tick', 5_000)).toMatchObject({ msg: 'tick' });
    expect(await r.request<{ pong: number }>({ type: 'ping', n: 41 })).toMatchObject({ pong: 42 });
    const first = r.pid!;
    await r.kill();
    expect(r.running).toBe(false);
    expect(r.pid).toBeUndefined();
    expect(alive(first)).toBe(false);
    expect(await r.request({ type: 'ping', n: 1 })).toBeNull();
    await r.start(10_000);
    expect(r.lives).toBe(2);
    await r.restart({ startTimeoutMs: 10_000 });
    expect(r.lives).toBe(3);
    expect(r.summaries).toHaveLength(1); // the killed life wrote none, the restarted one did
    expect(await r.stop(5_000)).toBe(true);
    expect(r.summaries.map((s) => s.processed)).toEqual([7, 7]);
    const log = readFileSync(path.join(dir, 'api.log'), 'utf8');
    expect(log.match(/^--- life \d/gm)).toEqual(['--- life 1', '--- life 2', '--- life 3']);
    expect(log).toContain('a line that is not JSON');
  });

  it('rejects a start that dies first, with what it printed', async () => {
    const r = role('orchestrator', { MODE: 'fail' });
    await expect(r.start(10_000)).rejects.toThrow(
      /orchestrator exited \(code 3\) before it started:\n.*cannot reach the store/s,
    );
    expect(r.running).toBe(false);
  });

  it('a role still running dies with the process that started it', async () => {
    const parent = path.join(dir, 'parent.mts');
    const roleProcess = fileURLToPath(new URL('./role-process.ts', import.meta.url));
    writeFileSync(
      parent,
      `import { RoleProcess } from ${JSON.stringify(roleProcess)};
const r = new RoleProcess({ name: 'orchestrator', args: [], script: 'role.mjs', cwd: ${JSON.stringify(dir)}, env: { PATH: process.env.PATH }, logFile: ${JSON.stringify(path.join(dir, 'orphan.log'))} });
await r.start(10_000);
process.stdout.write(String(r.pid));
process.exit(0);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', parent], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    const pid = Number(out);
    expect(pid).toBeGreaterThan(0);
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
  });
});
