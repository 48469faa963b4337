// @ts-check
/* global console, fetch, TextDecoder, setTimeout */
// The API, called with the tab's token: a 401 asks for one and tries again; other errors throw
// an ApiError that `explain` puts in words.
import { askForToken, token } from './auth.js';

/** An API answer other than 2xx, with its problem details (RFC 9457) when it sent some. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ detail?: string, requiredScope?: string } | null} problem
   */
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * Calls the API with the token; a 401 asks for a token and tries again. The body as JSON
 * (null for a 204): the caller says which shape the API documents for it.
 * @param {string} path
 * @param {Omit<RequestInit, 'headers'> & { headers?: Record<string, string> }} [init]
 * @param {boolean} [retried]
 * @returns {Promise<unknown>}
 */
export async function api(path, init = {}, retried = false) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json', ...(init.headers ?? {}) };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401 && !retried) {
    await askForToken(token() ? 'That token was not accepted.' : null);
    return api(path, init, true);
  }
  if (res.status === 204) return null;
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

/**
 * What went wrong, for a person: a 403 names the scope it takes.
 * @param {unknown} err
 */
export function explain(err) {
  if (err instanceof ApiError && err.status === 403) {
    const scope = err.problem?.requiredScope;
    return scope
      ? `This token's scope is not enough: that needs a token with the ${scope} scope.`
      : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Server-Sent Events over fetch, so the Authorization header can be sent (EventSource
 * cannot). Reconnects with Last-Event-ID until the server sends `end` or the signal aborts.
 * @param {string} path
 * @param {(event: string, data: unknown) => void} onEvent each event, its data parsed
 * @param {AbortSignal} signal
 * @param {(connected: boolean) => void} onState
 */
export async function follow(path, onEvent, signal, onState) {
  /** @type {string | null} */
  let lastId = null;
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      /** @type {Record<string, string>} */
      const headers = { Accept: 'text/event-stream' };
      if (token()) headers.Authorization = `Bearer ${token()}`;
      if (lastId !== null) headers['Last-Event-ID'] = lastId;
      const res = await fetch(path, { headers, signal });
      if (res.status === 401) {
        await askForToken(null);
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState(true);
      attempt = 0;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trimStart();
            else if (line.startsWith('id:')) lastId = line.slice(3).trim();
          }
          if (!data) continue;
          onEvent(event, JSON.parse(data));
          if (event === 'end') {
            onState(false);
            return;
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      console.warn('event stream interrupted', err);
    }
    onState(false);
    await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
  }
}
