/**
 * NATS subject matching, as the server does it for consumer filters: subjects are
 * dot-separated tokens; `*` in a filter matches exactly one token, `>` (last token only)
 * matches one or more trailing tokens. The client exports no matcher, hence this one.
 */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    const token = f[i]!;
    if (token === '>') return i === f.length - 1 && s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return f.length === s.length;
}

/** Whether any of the filters matches the subject. */
export function anyMatches(filters: Iterable<string>, subject: string): boolean {
  for (const f of filters) if (subjectMatches(f, subject)) return true;
  return false;
}
