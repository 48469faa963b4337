// The toolchains that build the local servers: Go for nats-server, a JDK and Maven for
// mongo-java-server; each found on PATH (or JAVA_HOME) and checked for its version.
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { findOnPath, isExecutable, parseVersion, run, tailLines, versionAtLeast } from './exec.ts';

const MIN_GO = [1, 22, 0];
/** mongo-java-server 1.47 is compiled for Java 17. */
const MIN_JAVA = 17;

export async function requireGo(
  env: NodeJS.ProcessEnv,
  label: string,
  alternatives: string,
): Promise<string> {
  const fix = `Fix: install Go >= 1.22 (https://go.dev/dl/) and retry, ${alternatives}.`;
  const go = await findOnPath('go', env);
  if (!go) throw new Error(`jetsaga: cannot build ${label}: the Go toolchain ('go') is not on PATH. ${fix}`);
  const { stdout } = await run(go, ['version'], { env });
  const version = parseVersion(stdout); // "go version go1.26.8 linux/amd64"
  if (!version || !versionAtLeast(version, MIN_GO)) {
    throw new Error(
      `jetsaga: cannot build ${label}: ${stdout.trim() || 'unknown Go version'} is too old. ${fix}`,
    );
  }
  return go;
}

/**
 * The java launcher: $JAVA_HOME/bin/java when set (as Maven does), else `java` on PATH; version >= 17.
 * Needed to run mongo-java-server, so checked even when the build is cached.
 */
export async function requireJava(env: NodeJS.ProcessEnv, label: string, fix: string): Promise<string> {
  const fromHome = env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : undefined;
  const java = fromHome && (await isExecutable(fromHome)) ? fromHome : await findOnPath('java', env);
  if (!java) throw new Error(`jetsaga: cannot run ${label}: no Java runtime ('java' is not on PATH). ${fix}`);
  const result = await run(java, ['-version'], { env }).catch((err: unknown) => ({
    code: null,
    stdout: '',
    stderr: String(err),
  }));
  const text = `${result.stdout}\n${result.stderr}`; // java -version writes to stderr
  const major = javaMajorVersion(text);
  if (major === undefined || major < MIN_JAVA) {
    const lines = text.split('\n').map((line) => line.trim());
    const found = lines.find((line) => line.includes('version')) ?? lines.find((line) => line !== '');
    throw new Error(
      `jetsaga: cannot run ${label}: ${java} is ${found || 'of unknown version'}, need Java >= ${MIN_JAVA}. ${fix}`,
    );
  }
  return java;
}

/** javac from the same JDK as `java` (falling back to PATH), and mvn; only needed for the first build. */
export async function requireJdkAndMaven(
  env: NodeJS.ProcessEnv,
  java: string,
  label: string,
  fix: string,
): Promise<{ javac: string; mvn: string }> {
  // /usr/bin/java is usually a symlink chain into the JDK's bin directory, where javac sits too.
  const sibling = path.join(path.dirname(await realpath(java)), 'javac');
  const javac = (await isExecutable(sibling)) ? sibling : await findOnPath('javac', env);
  if (!javac) {
    throw new Error(
      `jetsaga: cannot build ${label}: no Java compiler ('javac' is not on PATH; a JRE is not enough). ${fix}`,
    );
  }
  const version = await run(javac, ['-version'], { env });
  const major = javaMajorVersion(`${version.stdout}\n${version.stderr}`); // "javac 17.0.15"
  if (major === undefined || major < MIN_JAVA) {
    throw new Error(
      `jetsaga: cannot build ${label}: ${javac} is ${(version.stdout || version.stderr).trim() || 'unknown version'}, need JDK >= ${MIN_JAVA}. ${fix}`,
    );
  }
  const mvn = await findOnPath('mvn', env);
  if (!mvn) throw new Error(`jetsaga: cannot build ${label}: Maven ('mvn') is not on PATH. ${fix}`);
  return { javac, mvn };
}

/**
 * The Java feature release in `java -version` / `javac -version` output: 'version "17.0.15"' -> 17,
 * 'version "21" 2023-09-19' -> 21, 'version "1.8.0_392"' -> 8, 'javac 17.0.15' -> 17.
 */
export function javaMajorVersion(text: string): number | undefined {
  const match = /(?:version "|javac )(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

export async function runTool(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; label: string },
): Promise<void> {
  const result = await run(command, args, { cwd: opts.cwd, env: opts.env });
  if (result.code !== 0) {
    const commandLine = [path.basename(command), ...args].join(' ');
    throw new Error(
      `jetsaga: building ${opts.label} failed (${commandLine}, exit code ${result.code}):\n` +
        tailLines(`${result.stdout}\n${result.stderr}`),
    );
  }
}
