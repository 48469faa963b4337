// @ts-check
// How times and durations read.

/**
 * `just now`, `12s ago`, `3 min ago`, `2 h ago`, then the date and time.
 * @param {string | null | undefined} iso
 */
export function ago(iso) {
  if (!iso) return '';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

/**
 * `840 ms`, `2.35 s`, `4 min 12 s`, `1.5 h`; `—` when unknown.
 * @param {number | null | undefined} ms
 */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/**
 * Milliseconds between two ISO dates; NaN when either is missing.
 * @param {string | null | undefined} from
 * @param {string | null | undefined} to
 */
export const between = (from, to) => Date.parse(to ?? '') - Date.parse(from ?? '');

/**
 * The time of day to the millisecond, `14:03:07.250`.
 * @param {string | null | undefined} iso
 */
export const clock = (iso) =>
  iso
    ? new Date(iso).toLocaleTimeString(undefined, { hour12: false }) +
      `.${String(new Date(iso).getMilliseconds()).padStart(3, '0')}`
    : '';
