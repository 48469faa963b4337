// deploy/Dockerfile cannot be built here (no Docker engine), so its promises are read from the text: pinned
// bases on the Node the tests run on, a numeric non-root user, a healthcheck, only known settings, node
// itself as PID 1 running the compiled package (no TypeScript loader), an image without TypeScript sources,
// local infrastructure or demo, and a build stage given (and a .dockerignore letting through) all it compiles.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Finding, knownEnvVars, repositoryOf, tagOf, unknownEnvVar, unpinnedImage } from './findings.ts';

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

/** Compiled, but never loaded by a production role: the local infrastructure (`jetsaga dev`) and the demo. */
const NOT_SHIPPED = { 'runtime/dev': 'the local infrastructure, `jetsaga dev`', demo: 'the demo' } as const;

interface Stage {
  from: Instruction;
  /** The image or the earlier stage it starts from. */
  base: string;
  name?: string;
  body: Instruction[];
}

interface Copy {
  at: Instruction;
  /** A stage name, or undefined for the build context. */
  from?: string;
  /** Each source as a path relative to the context or to the source stage's WORKDIR. */
  sources: string[];
  excludes: string[];
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const i of instructions) {
    if (i.op === 'FROM') {
      const words = i.args.split(/\s+/).filter((a) => !a.startsWith('--'));
      stages.push({
        from: i,
        base: words[0]!,
        name: /\bAS\s+(\S+)/i.exec(i.args)?.[1]?.toLowerCase(),
        body: [],
      });
    } else stages.at(-1)?.body.push(i);
  }
  return stages;
}

const stageNamed = (stages: Stage[], name: string) => stages.find((s) => s.name === name.toLowerCase());

/** The stage's own FROM chain: itself, then the stage it starts from, and so on. */
function lineage(stages: Stage[], stage: Stage): Stage[] {
  const chain = [stage];
  for (let s = stageNamed(stages, stage.base); s && !chain.includes(s); s = stageNamed(stages, s.base))
    chain.push(s);
  return chain;
}

function workdirOf(stages: Stage[], stage: Stage): string {
  let dir = '/';
  for (const s of lineage(stages, stage).reverse())
    for (const i of s.body.filter((i) => i.op === 'WORKDIR')) dir = path.posix.resolve(dir, i.args.trim());
  return dir;
}

function copiesOf(stages: Stage[], stage: Stage): Copy[] {
  return stage.body
    .filter((i) => i.op === 'COPY' || i.op === 'ADD')
    .map((at) => {
      const words = at.args.trim().startsWith('[')
        ? (JSON.parse(at.args) as string[])
        : at.args.split(/\s+/).filter(Boolean);
      const flag = (name: string) =>
        words.filter((w) => w.startsWith(`--${name}=`)).map((w) => w.slice(name.length + 3));
      const from = flag('from')[0];
      const source = from ? stageNamed(stages, from) : undefined;
      const sources = words
        .filter((w) => !w.startsWith('--'))
        .slice(0, -1)
        .map((src) =>
          source
            ? // A --from source is a path in that stage's filesystem: relative to its root, not its WORKDIR.
              path.posix.relative(workdirOf(stages, source), path.posix.resolve('/', src)) || '.'
            : path.posix.normalize(src).replace(/^\/+|\/+$/g, '') || '.',
        );
      return { at, ...(from ? { from } : {}), sources, excludes: flag('exclude') };
    });
}

/** `dir` is `file` or one of its ancestors. */
const covers = (dir: string, file: string) => dir === '.' || dir === file || file.startsWith(`${dir}/`);

const runsNode = (i: Instruction) => i.op === 'RUN' && /(?:^|[\s;&|(])(?:node|npm|npx)(?:\s|$)/.test(i.args);

function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Whether a .dockerignore keeps `file` out of the context: its last matching pattern (or parent's) decides. */
export function dockerIgnores(ignore: string, file: string): boolean {
  const parents = file.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of ignore.split('\n')) {
    let pattern = raw.trim();
    if (pattern === '' || pattern.startsWith('#')) continue;
    const keep = pattern.startsWith('!');
    if (keep) pattern = pattern.slice(1).trim();
    const re = globToRegExp(path.posix.normalize(pattern).replace(/^\/+/, ''));
    if (parents.some((p) => re.test(p))) ignored = !keep;
  }
  return ignored;
}

interface Project {
  name?: string;
  node?: string;
  outDir: string;
  rootDir: string;
  /** What tsconfig.build.json compiles, and the config files it is read from. */
  compiled: string[];
  configs: string[];
}

async function projectOf(root: string, add: (file: string, message: string) => void): Promise<Project> {
  const json = async (file: string) => {
    try {
      return JSON.parse(await readFile(path.join(root, file), 'utf8')) as Record<string, unknown>;
    } catch (err) {
      add(
        file,
        `cannot read it to check the Dockerfile (${err instanceof Error ? err.message : String(err)})`,
      );
      return {};
    }
  };
  const pkg = (await json('package.json')) as { name?: string; devDependencies?: Record<string, string> };
  const tsconfig = (await json('tsconfig.build.json')) as {
    extends?: string;
    include?: string[];
    compilerOptions?: { outDir?: string; rootDir?: string };
  };
  const node = pkg.devDependencies?.node;
  if (pkg.name && !/^\d+\.\d+\.\d+$/.test(node ?? ''))
    add('package.json', 'devDependencies.node must pin the Node the tests and the image run on (x.y.z)');
  return {
    ...(pkg.name ? { name: pkg.name } : {}),
    ...(node ? { node } : {}),
    outDir: path.posix.normalize(tsconfig.compilerOptions?.outDir ?? 'dist'),
    rootDir: path.posix.normalize(tsconfig.compilerOptions?.rootDir ?? '.'),
    compiled: (tsconfig.include ?? []).map((p) => path.posix.normalize(p)),
    configs: ['tsconfig.build.json', ...(tsconfig.extends ? [path.posix.normalize(tsconfig.extends)] : [])],
  };
}

export async function dockerfileFindings(root: string, file: string, entry: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  const instructions = parseDockerfile(await readFile(path.join(root, file), 'utf8'));
  const add = (line: number | undefined, message: string) =>
    findings.push({ file, ...(line ? { field: `line ${line}` } : {}), message });
  const ignoreFile = `${file}.dockerignore`;
  const ignore = await readFile(path.join(root, ignoreFile), 'utf8').catch(() => undefined);
  const project = await projectOf(root, (f, message) => findings.push({ file: f, message }));
  const compiledEntry = path.posix
    .join(project.outDir, path.posix.relative(project.rootDir, entry))
    .replace(/\.[cm]?ts$/, '.js');

  const stages = stagesOf(instructions);
  if (stages.length === 0) {
    add(undefined, 'no FROM: not a Dockerfile');
    return findings;
  }
  for (const { from, base } of stages) {
    if (stageNamed(stages, base)) continue;
    const problem = unpinnedImage(base);
    if (problem) add(from.line, problem);
    else if (!/\d+\.\d+\.\d+/.test(base) && !base.includes('@sha256:'))
      add(from.line, `base image "${base}" is not pinned to an exact version (x.y.z)`);
  }
  const final = stages.at(-1)!;
  // Every stage that runs node (the final one runs the roles) starts from the Node the tests run on.
  const nodeBases = new Set(
    stages.filter((s) => s === final || s.body.some(runsNode)).map((s) => lineage(stages, s).at(-1)!),
  );
  for (const { from, base } of nodeBases) {
    const repo = repositoryOf(base).replace(/^(docker\.io\/)?(library\/)?/, '');
    const tag = tagOf(base);
    const wanted = project.node ?? '24.x.y';
    if (
      repo !== 'node' ||
      (project.node
        ? tag !== project.node && !tag.startsWith(`${project.node}-`)
        : !/^24\.\d+\.\d+/.test(tag))
    )
      add(
        from.line,
        `base image "${base}" runs node, so it must be node:${wanted}[-variant], the Node the tests run on (package.json devDependencies.node)`,
      );
  }

  const user = final.body.filter((i) => i.op === 'USER').at(-1);
  if (!user) add(undefined, 'the final stage sets no USER: the roles would run as root');
  else if (!/^[1-9]\d*(:\d+)?$/.test(user.args.trim()))
    add(
      user.line,
      `USER ${user.args} must be a numeric non-root uid (Kubernetes' runAsNonRoot cannot verify a name)`,
    );
  const healthcheck = final.body.filter((i) => i.op === 'HEALTHCHECK').at(-1);
  if (!healthcheck) add(undefined, 'the final stage has no HEALTHCHECK');
  // Every role serves /healthz on its ops port; only the api has the API port.
  else if (!/JETSAGA_OPS_PORT/.test(healthcheck.args) || !healthcheck.args.includes('/healthz'))
    add(
      healthcheck.line,
      'HEALTHCHECK must ask /healthz on the ops port (JETSAGA_OPS_PORT), which every role serves',
    );
  const opsEnv = final.body
    .filter((i) => i.op === 'ENV')
    .map((i) => /(?:^|\s)JETSAGA_OPS_PORT=(\S+)/.exec(i.args)?.[1])
    .findLast((v) => v !== undefined);
  const exposed = final.body.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
  if (opsEnv === undefined)
    add(undefined, 'the final stage sets no JETSAGA_OPS_PORT: give the ops endpoint its port (9464)');
  else if (!exposed.some((p) => p.replace(/\/tcp$/, '') === opsEnv))
    add(undefined, `EXPOSE the ops port ${opsEnv} (JETSAGA_OPS_PORT)`);
  for (const env of final.body.filter((i) => i.op === 'ENV')) {
    for (const [, name] of env.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g))
      if (!knownEnvVars.has(name!)) add(env.line, unknownEnvVar(name!));
  }

  const entrypoint = final.body.filter((i) => i.op === 'ENTRYPOINT').at(-1);
  let argv: unknown;
  try {
    argv = entrypoint ? JSON.parse(entrypoint.args) : undefined;
  } catch {
    argv = undefined;
  }
  const words = Array.isArray(argv) && argv.every((a) => typeof a === 'string') ? (argv as string[]) : [];
  if (words[0] !== 'node' || !words.includes(compiledEntry))
    add(
      entrypoint?.line,
      `ENTRYPOINT must be the exec form ["node", ..., "${compiledEntry}"]: node as PID 1 gets SIGTERM, and runs the compiled package`,
    );
  const loader = words.find(
    (w) => /\btsx\b|ts-node|strip-types|transform-types/.test(w) || /\.[cm]?ts$/.test(w),
  );
  if (loader)
    add(
      entrypoint?.line,
      `ENTRYPOINT runs TypeScript ("${loader}"): the image runs ${compiledEntry}, compiled by npm run build, on plain Node (tsx is a devDependency)`,
    );

  // The final stage: the compiled package and what it needs, no TypeScript sources, nothing it never loads.
  const copies = copiesOf(stages, final);
  const isSource = (p: string) =>
    project.compiled.some((c) => covers(p, c) || covers(c, p)) ||
    /(?:^|\/)tsconfig[^/]*\.json$/.test(p) ||
    (/\.[cm]?ts$/.test(p) && !/\.d\.[cm]?ts$/.test(p));
  for (const copy of copies) {
    const source = copy.from ? stageNamed(stages, copy.from) : undefined;
    if (copy.from && !source) continue; // another image's files
    const sourceWorkdir = source ? workdirOf(stages, source) : '';
    const removed = (target: string) =>
      source?.body.some(
        (i) =>
          i.op === 'RUN' &&
          /(?:^|[\s;&|(])rm\s/.test(i.args) &&
          i.args
            .split(/\s+/)
            .some((w) => [target, `./${target}`, path.posix.join(sourceWorkdir, target)].includes(w)),
      ) ?? false;
    for (const src of copy.sources) {
      const label = `${copy.at.op}${copy.from ? ` --from=${copy.from}` : ''} ${src}`;
      if (isSource(src)) {
        add(
          copy.at.line,
          `${label} puts TypeScript sources into the image: it runs ${project.outDir}/, compiled by npm run build`,
        );
        continue;
      }
      for (const [dir, what] of Object.entries(NOT_SHIPPED)) {
        const compiled = path.posix.join(project.outDir, dir);
        const excluded = copy.excludes.some((p) =>
          dockerIgnores(p, path.posix.relative(src, compiled) || '.'),
        );
        if (covers(compiled, src) || (covers(src, compiled) && !excluded && !removed(compiled)))
          add(
            copy.at.line,
            `${label} puts ${compiled}/ (${what}) into the image, which no production role loads: delete it in the stage it comes from (rm -rf ${compiled}) or --exclude it`,
          );
      }
    }
  }
  const entryCopy = copies.find((c) => c.sources.some((s) => covers(s, compiledEntry)));
  if (!entryCopy)
    add(undefined, `no COPY puts ${compiledEntry} (the compiled ${entry}) into the final stage`);
  const source = await readFile(path.join(root, entry), 'utf8').catch(() => '');
  if (
    project.name &&
    new RegExp(`from\\s+['"]${project.name}(/[^'"]*)?['"]`).test(source) &&
    !copies.some((c) => c.sources.some((s) => covers(s, 'package.json')))
  )
    add(
      undefined,
      `${entry} imports the package by its own name (${project.name}), which Node resolves through package.json's exports: COPY package.json into the final stage`,
    );

  // The stage that compiles: every input of tsconfig.build.json and every script its RUNs name, copied in
  // and let through the .dockerignore.
  const build = entryCopy?.from ? stageNamed(stages, entryCopy.from) : undefined;
  if (!build) return findings;
  const chain = lineage(stages, build);
  const copied = chain.flatMap((s) => copiesOf(stages, s).filter((c) => !c.from)).flatMap((c) => c.sources);
  const scripts = chain
    .flatMap((s) => s.body.filter((i) => i.op === 'RUN'))
    .flatMap((i) => i.args.split(/[\s;&|()]+/))
    .filter((w) => /^(\.\/)?[\w@.-]+(\/[\w@.-]+)*\.[cm]?[jt]s$/.test(w) && !/^(\.\/)?node_modules\//.test(w))
    .map((w) => path.posix.normalize(w));
  for (const input of new Set([...project.configs, ...project.compiled, ...scripts])) {
    if (!copied.some((c) => covers(c, input)))
      add(build.from.line, `the build stage needs ${input}, which no COPY puts into it`);
    const probe = path.posix.extname(input) ? input : `${input}/index.ts`;
    if (ignore !== undefined && dockerIgnores(ignore, probe))
      findings.push({
        file: ignoreFile,
        message: `${input} is needed to build the image but not let through (add !${path.posix.extname(input) ? input : `${input}/**`})`,
      });
  }
  return findings;
}
