// Small process helpers shared by the binary resolver: PATH lookup, running a command to completion,
// and the versions binaries report.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';

export async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Like `which`: the first executable named `name` on env.PATH, without spawning a shell. */
export async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion and captures its output. Rejects only when the command cannot be
 * started (e.g. ENOENT); a non-zero exit is reported in `code` so callers can word their own error.
 */
export function run(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The last `maxLines` non-empty lines of a process's output, for error messages. */
export function tailLines(text: string, maxLines = 20): string {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-maxLines)
    .join('\n');
}

/** Parses "v2.15.2" / "go1.26.8" / "2.9" into numbers for comparisons; undefined when no version is found. */
export function parseVersion(text: string): number[] | undefined {
  const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

export function versionAtLeast(actual: readonly number[], minimum: readonly number[]): boolean {
  for (let i = 0; i < minimum.length; i++) {
    const a = actual[i] ?? 0;
    const m = minimum[i] ?? 0;
    if (a !== m) return a > m;
  }
  return true;
}

/**
 * The first "vX.Y.Z" printed by `<bin> --version` ("nats-server: v2.15.2", "db version v8.0.4"),
 * or undefined when the binary cannot say.
 */
export async function binaryVersion(bin: string): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run(bin, ['--version']);
    return /v\d+\.\d+\.\d+\S*/.exec(`${stdout}\n${stderr}`)?.[0];
  } catch {
    return undefined;
  }
}
