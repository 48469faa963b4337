import type { Catalogue, CatalogueMessage } from './catalogue-types.ts';

/** One difference between two catalogues: the message (its catalogue key), the field (a dotted path), what changed. */
export interface ContractChange {
  message: string;
  /** `customerId`, `items[].sku`, `address.*` (a record's values), `(data)` for the whole schema, `(message)` for the message itself. */
  field: string;
  change: string;
}

export interface Comparison {
  /** Changes that break a sender or a receiver still running the earlier catalogue. */
  breaking: ContractChange[];
  /** Changes every earlier sender and receiver copes with: a new message, an optional field, a version bump with its upcaster. */
  compatible: ContractChange[];
}

type Schema = Record<string, unknown>;

const messageField = '(message)';
const dataField = '(data)';

/** Constraints whose change, either way, lets a sender write what a receiver on the other side refuses. */
const constraintKeys = [
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
] as const;

/**
 * The breaking changes from `before` (a saved catalogue) to `after` (the current one). A message
 * at the same version breaks on: a required field added (or a field made required), a field
 * removed, a field's type changed, a constraint changed, an enum narrowed, a value added to an
 * enum (or an enum opened up) of a message that some role receives (older receivers reject it),
 * a field made optional that receivers required, a field added to a closed object
 * (`additionalProperties: false`). A message removed that roles still running receive breaks; so
 * does a changed subject or kind. A new version passes only when it upcasts from every version
 * between the saved one and itself; a lower version never does. A new message and an added
 * optional field pass.
 */
export function breakingChanges(before: Catalogue, after: Catalogue): ContractChange[] {
  return compareCatalogues(before, after).breaking;
}

/** Both lists: what breaks, and what changed compatibly. */
export function compareCatalogues(before: Catalogue, after: Catalogue): Comparison {
  const out: Comparison = { breaking: [], compatible: [] };
  const rolesAfter = new Set(Object.values(after.messages).flatMap((m) => [...m.sentBy, ...m.receivedBy]));
  for (const key of Object.keys(before.messages).sort()) {
    const was = before.messages[key]!;
    const now = after.messages[key];
    if (!now) {
      const still = was.receivedBy.filter((r) => rolesAfter.has(r));
      if (still.length > 0)
        out.breaking.push({
          message: key,
          field: messageField,
          change: `removed, but ${still.join(', ')} still receive${still.length === 1 ? 's' : ''} it (messages in flight, older senders)`,
        });
      else
        out.compatible.push({ message: key, field: messageField, change: 'removed (no receiver is left)' });
      continue;
    }
    compareMessage(key, was, now, out);
  }
  for (const key of Object.keys(after.messages).sort())
    if (!before.messages[key]) out.compatible.push({ message: key, field: messageField, change: 'added' });
  return out;
}

function compareMessage(key: string, was: CatalogueMessage, now: CatalogueMessage, out: Comparison): void {
  const breaks = (field: string, change: string) => out.breaking.push({ message: key, field, change });
  if (was.kind !== now.kind) breaks(messageField, `kind changed from ${was.kind} to ${now.kind}`);
  if (was.subject !== now.subject)
    breaks(messageField, `subject changed from ${String(was.subject)} to ${String(now.subject)}`);
  if (now.version < was.version) {
    breaks(messageField, `version went back from ${was.version} to ${now.version}`);
    return;
  }
  if (now.version > was.version) {
    const missing: number[] = [];
    for (let v = was.version; v < now.version; v++) if (!now.upcastsFrom.includes(v)) missing.push(v);
    if (missing.length > 0)
      breaks(
        messageField,
        `version ${was.version} -> ${now.version} without an upcaster from version ${missing.join(', ')} (receivers must read what older senders wrote)`,
      );
    else
      out.compatible.push({
        message: key,
        field: messageField,
        change: `version ${was.version} -> ${now.version}, upcast from ${was.version}`,
      });
    return;
  }
  // Same version: the schema may only grow in ways both older senders and older receivers accept.
  compareSchemas(
    {
      message: key,
      receivers: now.receivedBy.length > 0,
      beforeRoot: was.schema,
      afterRoot: now.schema,
      seen: new Set(),
      out,
    },
    was.schema,
    now.schema,
    '',
  );
}

interface Walk {
  message: string;
  /** Some role receives the message: a value it does not know would be refused. */
  receivers: boolean;
  beforeRoot: Schema;
  afterRoot: Schema;
  /** `$ref` pairs already compared (recursive schemas). */
  seen: Set<string>;
  out: Comparison;
}

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Follows a local `$ref` (`#`, `#/definitions/x`, `#/$defs/x`) within the message's schema. */
function deref(s: Schema, root: Schema): Schema {
  for (let hops = 0; hops < 32 && typeof s.$ref === 'string'; hops++) {
    const ref = s.$ref;
    if (!ref.startsWith('#')) return s;
    let at: unknown = root;
    for (const part of ref.slice(1).split('/').filter(Boolean))
      at = isSchema(at) ? at[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    if (!isSchema(at)) return s;
    const { $ref: _ignored, ...rest } = s;
    s = { ...at, ...rest };
  }
  return s;
}

/** The alternatives a schema allows: the branches of anyOf/oneOf (flattened), an allOf merged. */
function branches(s: Schema, root: Schema): Schema[] {
  s = deref(s, root);
  const alternatives = (s.anyOf ?? s.oneOf) as unknown;
  if (Array.isArray(alternatives)) {
    const { anyOf: _a, oneOf: _o, ...common } = s;
    return alternatives.filter(isSchema).flatMap((b) => branches({ ...common, ...b }, root));
  }
  if (Array.isArray(s.allOf)) {
    const { allOf, ...rest } = s;
    const parts = [rest, ...(allOf as unknown[]).filter(isSchema).map((p) => deref(p, root))];
    const merged: Schema = {};
    const properties: Schema = {};
    const required = new Set<string>();
    for (const p of parts) {
      Object.assign(merged, p);
      if (isSchema(p.properties)) Object.assign(properties, p.properties);
      if (Array.isArray(p.required)) for (const r of p.required) required.add(String(r));
    }
    if (Object.keys(properties).length > 0) merged.properties = properties;
    if (required.size > 0) merged.required = [...required];
    return [merged];
  }
  return [s];
}

const jsonType = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? 'number' : typeof v;

/** The JSON types one branch admits; `any` when it constrains none. */
function typesOf(b: Schema): string[] {
  if (typeof b.type === 'string') return [b.type];
  if (Array.isArray(b.type)) return b.type.map(String);
  if ('const' in b) return [jsonType(b.const)];
  if (Array.isArray(b.enum)) return [...new Set(b.enum.map(jsonType))];
  if (isSchema(b.properties)) return ['object'];
  if (b.items !== undefined) return ['array'];
  return ['any'];
}

/** The values a schema allows when every branch is an enum or a const; null when it allows any value of its types. */
function enumOf(bs: Schema[]): Set<string> | null {
  const values = new Set<string>();
  for (const b of bs) {
    if ('const' in b) values.add(JSON.stringify(b.const));
    else if (Array.isArray(b.enum)) for (const v of b.enum) values.add(JSON.stringify(v));
    else if (b.type === 'null') values.add('null');
    else return null;
  }
  return values;
}

const show = (path: string) => path || dataField;
const join = (path: string, name: string) => (path ? `${path}.${name}` : name);

function compareSchemas(w: Walk, beforeRaw: unknown, afterRaw: unknown, path: string): void {
  if (!isSchema(beforeRaw) || !isSchema(afterRaw)) return;
  // A recursive schema meets the same pair of references again: compared once is enough.
  if (typeof beforeRaw.$ref === 'string' || typeof afterRaw.$ref === 'string') {
    const pair = `${String(beforeRaw.$ref)}|${String(afterRaw.$ref)}`;
    if (w.seen.has(pair)) return;
    w.seen.add(pair);
  }
  const breaks = (change: string) => w.out.breaking.push({ message: w.message, field: show(path), change });
  const b = branches(beforeRaw, w.beforeRoot);
  const a = branches(afterRaw, w.afterRoot);

  const typesBefore = [...new Set(b.flatMap(typesOf))].sort();
  const typesAfter = [...new Set(a.flatMap(typesOf))].sort();
  if (typesBefore.join('|') !== typesAfter.join('|')) {
    breaks(`type changed from ${typesBefore.join(' | ')} to ${typesAfter.join(' | ')}`);
    return;
  }

  const enumBefore = enumOf(b);
  const enumAfter = enumOf(a);
  if (enumBefore && enumAfter) {
    const removed = [...enumBefore].filter((v) => !enumAfter.has(v));
    const added = [...enumAfter].filter((v) => !enumBefore.has(v));
    if (removed.length > 0) breaks(`enum narrowed: ${removed.join(', ')} no longer allowed`);
    if (added.length > 0 && w.receivers)
      breaks(`enum value added: ${added.join(', ')} (older receivers reject it)`);
  } else if (!enumBefore && enumAfter) {
    breaks(`enum narrowed: now only ${[...enumAfter].join(', ')}`);
  } else if (enumBefore && !enumAfter && w.receivers) {
    breaks(`enum opened to any value (older receivers accept only ${[...enumBefore].join(', ')})`);
  }

  // Constraints, per type both sides admit (a nullable string's `maxLength` is on its string branch).
  const compared = new Set<string>();
  for (const type of typesAfter) {
    const x = b.find((s) => typesOf(s).includes(type));
    const y = a.find((s) => typesOf(s).includes(type));
    if (!x || !y) continue;
    for (const k of constraintKeys) {
      const was = JSON.stringify(x[k]);
      const now = JSON.stringify(y[k]);
      if (was === now || compared.has(`${k}:${was}:${now}`)) continue;
      compared.add(`${k}:${was}:${now}`);
      breaks(`${k} changed from ${was ?? '(none)'} to ${now ?? '(none)'}`);
    }
  }

  const objectBefore = b.find((x) => typesOf(x).includes('object'));
  const objectAfter = a.find((x) => typesOf(x).includes('object'));
  if (objectBefore && objectAfter) compareObjects(w, objectBefore, objectAfter, path);

  const arrayBefore = b.find((x) => typesOf(x).includes('array'));
  const arrayAfter = a.find((x) => typesOf(x).includes('array'));
  if (arrayBefore && arrayAfter) {
    const ib = arrayBefore.items;
    const ia = arrayAfter.items;
    if (Array.isArray(ib) && Array.isArray(ia)) {
      if (ib.length !== ia.length) breaks(`tuple length changed from ${ib.length} to ${ia.length}`);
      for (let i = 0; i < Math.min(ib.length, ia.length); i++)
        compareSchemas(w, ib[i], ia[i], `${path}[${i}]`);
    } else compareSchemas(w, ib ?? {}, ia ?? {}, `${path}[]`);
  }
}

function compareObjects(w: Walk, before: Schema, after: Schema, path: string): void {
  const push = (list: ContractChange[], field: string, change: string) =>
    list.push({ message: w.message, field, change });
  const propsBefore = isSchema(before.properties) ? before.properties : {};
  const propsAfter = isSchema(after.properties) ? after.properties : {};
  const reqBefore = new Set(Array.isArray(before.required) ? before.required.map(String) : []);
  const reqAfter = new Set(Array.isArray(after.required) ? after.required.map(String) : []);
  const closedBefore = before.additionalProperties === false;

  for (const name of Object.keys(propsBefore).sort()) {
    const field = join(path, name);
    if (!(name in propsAfter)) {
      push(w.out.breaking, field, 'field removed');
      continue;
    }
    if (reqAfter.has(name) && !reqBefore.has(name))
      push(w.out.breaking, field, 'field became required (older senders leave it out)');
    else if (reqBefore.has(name) && !reqAfter.has(name) && w.receivers)
      push(w.out.breaking, field, 'field no longer required (older receivers require it)');
    compareSchemas(w, propsBefore[name], propsAfter[name], field);
  }
  for (const name of Object.keys(propsAfter).sort()) {
    if (name in propsBefore) continue;
    const field = join(path, name);
    if (reqAfter.has(name)) push(w.out.breaking, field, 'required field added (older senders leave it out)');
    else if (closedBefore && w.receivers)
      push(w.out.breaking, field, 'field added to a closed object (older receivers refuse unknown fields)');
    else push(w.out.compatible, field, 'optional field added');
  }
  // A required name without a property schema (rare) still binds senders.
  for (const name of [...reqAfter].sort())
    if (!reqBefore.has(name) && !(name in propsAfter) && !(name in propsBefore))
      push(w.out.breaking, join(path, name), 'required field added (older senders leave it out)');

  // Records: the schema of their values.
  const extraBefore = before.additionalProperties;
  const extraAfter = after.additionalProperties;
  if (isSchema(extraBefore) && isSchema(extraAfter))
    compareSchemas(w, extraBefore, extraAfter, join(path, '*'));
  else if (extraBefore !== false && extraAfter === false && w.receivers)
    push(
      w.out.breaking,
      show(path),
      'object closed (additionalProperties: false): older senders may send more',
    );
}
