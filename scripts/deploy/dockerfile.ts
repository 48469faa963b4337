// deploy/Dockerfile cannot be built here (no Docker engine), so its promises are read from the text: pinned
// bases, a numeric non-root user, a healthcheck, only known settings, node itself as PID 1, and every
// directory the entry point imports copied into the image and let through the .dockerignore.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Finding, knownEnvVars, unknownEnvVar, unpinnedImage } from './findings.ts';

interface Instruction {
  line: number;
  op: string;
  args: string;
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: Instruction | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    if (pending) pending.args += ` ${body.trim()}`;
    else {
      const [op, ...rest] = body.split(/\s+/);
      pending = { line: i + 1, op: op!.toUpperCase(), args: rest.join(' ') };
    }
    if (!continued) {
      out.push(pending);
      pending = undefined;
    }
  });
  if (pending) out.push(pending);
  return out;
}

export async function dockerfileFindings(root: string, file: string, entry: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  const instructions = parseDockerfile(await readFile(path.join(root, file), 'utf8'));
  const add = (line: number | undefined, message: string) =>
    findings.push({ file, ...(line ? { field: `line ${line}` } : {}), message });
  const stages = instructions.filter((i) => i.op === 'FROM');
  const stageNames = new Set(
    stages.map((s) => /\bAS\s+(\S+)/i.exec(s.args)?.[1]?.toLowerCase()).filter(Boolean),
  );
  for (const from of stages) {
    const image = from.args.split(/\s+/).find((a) => !a.startsWith('--'))!;
    if (stageNames.has(image.toLowerCase())) continue;
    const problem = unpinnedImage(image);
    if (problem) add(from.line, problem);
    else if (!/\d+\.\d+\.\d+/.test(image) && !image.includes('@sha256:'))
      add(from.line, `base image "${image}" is not pinned to an exact version (x.y.z)`);
  }
  const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));
  const user = finalStage.filter((i) => i.op === 'USER').at(-1);
  if (!user) add(undefined, 'the final stage sets no USER: the roles would run as root');
  else if (!/^[1-9]\d*(:\d+)?$/.test(user.args.trim()))
    add(
      user.line,
      `USER ${user.args} must be a numeric non-root uid (Kubernetes' runAsNonRoot cannot verify a name)`,
    );
  if (!finalStage.some((i) => i.op === 'HEALTHCHECK')) add(undefined, 'the final stage has no HEALTHCHECK');
  for (const env of finalStage.filter((i) => i.op === 'ENV')) {
    for (const [, name] of env.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g))
      if (!knownEnvVars.has(name!)) add(env.line, unknownEnvVar(name!));
  }
  const entrypoint = finalStage.filter((i) => i.op === 'ENTRYPOINT').at(-1);
  if (!entrypoint || !/^\[\s*"node"/.test(entrypoint.args) || !entrypoint.args.includes(entry))
    add(
      entrypoint?.line,
      `ENTRYPOINT must be the exec form ["node", "--import", "tsx", "${entry}"]: node as PID 1 gets SIGTERM`,
    );

  // The entry point's relative imports name the top-level directories the image needs.
  const source = await readFile(path.join(root, entry), 'utf8');
  const needed = new Set(
    [...source.matchAll(/from\s+['"](\.\.?\/[^'"]+)['"]/g)].map(
      (m) => path.normalize(path.join(path.dirname(entry), m[1]!)).split(path.sep)[0]!,
    ),
  );
  needed.add(path.dirname(entry).split(path.sep)[0]!);
  const copied = new Set(
    finalStage
      .filter((i) => i.op === 'COPY' && !/--from=/.test(i.args))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      )
      .map((src) => src.replace(/^\.\//, '').split('/')[0]!),
  );
  const ignore = await readFile(path.join(root, `${file}.dockerignore`), 'utf8').catch(() => undefined);
  for (const dir of needed) {
    if (!copied.has(dir)) add(undefined, `${entry} imports ${dir}/, which no COPY puts into the image`);
    if (
      ignore !== undefined &&
      !ignore.split('\n').some((l) => l.trim() === `!${dir}/**` || l.trim() === `!${dir}`)
    )
      findings.push({
        file: `${file}.dockerignore`,
        message: `${dir}/ is needed by ${entry} but not let through (add !${dir}/**)`,
      });
  }
  return findings;
}
