// API bearer tokens as configured (JETSAGA_API_TOKENS): their scopes, names and parsing. Pure, so the
// config reads them at start (a bad entry stops the process, naming the entry) and the HTTP layer
// enforces them, from one definition.

/** Token scopes, weakest first: each one implies the ones before it. */
export const apiScopes = ['read', 'write', 'admin'] as const;
export type ApiScope = (typeof apiScopes)[number];

/** Whether a token holding `held` may call an operation that needs `needed`. */
export const scopeCovers = (held: ApiScope, needed: ApiScope): boolean =>
  apiScopes.indexOf(held) >= apiScopes.indexOf(needed);

/** A configured bearer token: its name (for logs and saga history), the secret, its scope. */
export interface ApiToken {
  name: string;
  token: string;
  scope: ApiScope;
}

/** A token as configured: the name is optional (`token-<n>` by default). */
export interface ApiTokenEntry {
  name?: string | undefined;
  token: string;
  scope: ApiScope;
}

/** Who made a request when auth is off. */
export const anonymousCaller = 'anonymous';

const tokenPattern = /^[A-Za-z0-9._~+/=-]{16,}$/;
const namePattern = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;
const defaultName = (n: number) => `token-${n}`;
/** `anonymous`, and `token-<n>` but for entry n itself (so that checking named tokens again changes nothing). */
const reservedName = (name: string, n: number) =>
  name === anonymousCaller || (/^token-\d+$/.test(name) && name !== defaultName(n));

/**
 * Names and checks configured tokens. Unnamed tokens are `token-<n>` (n: the entry's
 * position, from 1). Every message names the entry by position and never prints a token,
 * nor a name (a token pasted in the name's place must not end up in a log either).
 */
export function checkApiTokens(entries: readonly ApiTokenEntry[]): { tokens: ApiToken[]; issues: string[] } {
  return check(entries);
}

/** An entry that could not even be split into its fields, with the reason. */
type Unreadable = { unreadable: string };

function check(entries: ReadonlyArray<ApiTokenEntry | Unreadable>): { tokens: ApiToken[]; issues: string[] } {
  const tokens: ApiToken[] = [];
  const issues: string[] = [];
  const nameAt = new Map<string, number>();
  const tokenAt = new Map<string, number>();
  entries.forEach((entry, i) => {
    const n = i + 1;
    const issue = (message: string) => issues.push(`entry ${n}: ${message}`);
    if ('unreadable' in entry) return issue(entry.unreadable);
    if (!(apiScopes as readonly string[]).includes(entry.scope))
      return issue('end it with :read, :write or :admin');
    if (!tokenPattern.test(entry.token))
      return issue('a token needs at least 16 characters from A-Z a-z 0-9 . _ ~ + / = -');
    if (entry.name !== undefined) {
      if (!namePattern.test(entry.name))
        return issue('a name has 1 to 64 characters from A-Z a-z 0-9 . _ -, starting with a letter');
      if (reservedName(entry.name, n))
        return issue('"anonymous" and token-<n> are reserved names: choose another one');
    }
    const name = entry.name ?? defaultName(n);
    const sameName = nameAt.get(name);
    if (sameName !== undefined) return issue(`entry ${sameName} has the same name; names must be unique`);
    const sameToken = tokenAt.get(entry.token);
    if (sameToken !== undefined)
      return issue(`entry ${sameToken} has the same token; give each caller its own`);
    nameAt.set(name, n);
    tokenAt.set(entry.token, n);
    tokens.push({ name, token: entry.token, scope: entry.scope });
  });
  return { tokens, issues };
}

/**
 * Parses a JETSAGA_API_TOKENS value: comma-separated entries, each `<token>:<scope>` or
 * `<name>:<token>:<scope>`. The fields are separated by colons, which a token cannot hold,
 * so a named entry can never be read as a token (unlike `<name>=<token>`: `=` is a base64
 * character, so `abc=def...` is a valid token today).
 */
export function parseApiTokens(raw: string): { tokens: ApiToken[]; issues: string[] } {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((part): ApiTokenEntry | Unreadable => {
      const fields = part.split(':').map((f) => f.trim());
      if (fields.length === 2) return { token: fields[0]!, scope: fields[1] as ApiScope };
      if (fields.length === 3) return { name: fields[0]!, token: fields[1]!, scope: fields[2] as ApiScope };
      return {
        unreadable:
          fields.length === 1
            ? 'end it with :read, :write or :admin'
            : 'write it as <token>:<scope> or <name>:<token>:<scope>',
      };
    });
  return check(entries);
}
