import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalogue } from '../../runtime/contracts/index.ts';
import { repoRoot } from '../cluster.ts';

/** `jetsaga <args>` of this repository (the reference app): exit code, stdout, stderr. */
function jetsaga(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bin/jetsaga.ts', ...args],
      {
        cwd: repoRoot,
        env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, HOME: process.env.HOME },
        maxBuffer: 32 * 1024 * 1024,
      },
      (err, out, stderr) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code: err ? (err.code as number) : 0, out, err: stderr });
      },
    ),
  );
}

const baseline = path.join(repoRoot, 'contracts', 'catalogue.json');

describe('jetsaga contracts', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'jetsaga-contracts-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('check passes on the baseline kept in the repository', async () => {
    const { code, out, err } = await jetsaga(['contracts', 'check', '--against', 'contracts/catalogue.json']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^contracts: ok, \d+ messages, \d+ compatible changes?\n$/);
  });

  it('check fails on a changed copy of the baseline, one line per break naming message and field', async () => {
    const saved = JSON.parse(await readFile(baseline, 'utf8')) as Catalogue;
    // The saved copy had a field the current schema lacks, and an enum value more: both break.
    const [key, message] = Object.entries(saved.messages).find(
      ([, m]) => m.kind === 'command' && typeof m.schema.properties === 'object',
    )!;
    (message.schema.properties as Record<string, unknown>).legacyNote = { type: 'string' };
    const changed = path.join(dir, 'changed.json');
    await writeFile(changed, JSON.stringify(saved));
    const { code, out, err } = await jetsaga(['contracts', 'check', '--against', changed]);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err.split('\n')).toContain(`contracts: ${key}: legacyNote: field removed`);
    expect(err).toContain('1 breaking change against');
  });

  it('names the flag when the file is missing or not a catalogue, and when it is not given', async () => {
    const missing = await jetsaga(['contracts', 'check', '--against', path.join(dir, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^jetsaga: --against .*nope\.json: no such file/);
    const notJson = path.join(dir, 'bad.json');
    await writeFile(notJson, '{ not json');
    const bad = await jetsaga(['contracts', 'check', '--against', notJson]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`--against ${notJson}: not JSON`);
    const wrong = path.join(dir, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ format: 'something else', messages: {} }));
    expect((await jetsaga(['contracts', 'check', '--against', wrong])).err).toContain(
      'not a jetsaga catalogue (format:',
    );
    const none = await jetsaga(['contracts', 'check']);
    expect(none.code).toBe(1);
    expect(none.err).toContain('--against <file>');
  });

  it('print writes the catalogue, and asyncapi the document', async () => {
    const printed = await jetsaga(['contracts', 'print']);
    expect(printed.code).toBe(0);
    const catalogue = JSON.parse(printed.out) as Catalogue;
    expect(catalogue.format).toBe('jetsaga-catalogue/1');
    expect(catalogue.messages['inventory.reserve']).toMatchObject({
      kind: 'command',
      subject: 'cmd.inventory.reserve',
      sentBy: ['orchestrator'],
      receivedBy: ['service:inventory'],
    });
    const asyncapi = await jetsaga(['asyncapi']);
    expect(asyncapi.code).toBe(0);
    expect(JSON.parse(asyncapi.out)).toMatchObject({ asyncapi: '3.0.0' });
  });
});
