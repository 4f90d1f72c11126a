/** How the dashboard writes numbers, durations and times. */

export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** UTC on the server; the page's script rewrites `<time>` elements into the reader's local time. */
export function formatTime(ms: number | null): string {
  if (ms === null) return '—';
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function formatProportion(x: number | null, digits = 3): string {
  return x === null || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

export function percent(part: number, whole: number): number {
  return whole > 0 ? Math.min(100, Math.round((100 * part) / whole)) : 0;
}
