/**
 * Numbers as a person reads them in a terminal, in the units the pages use (decimal, as
 * browsers' download lists show; src/internal/format.ts, not exported by the library).
 */
const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** `1234567` → `"1.2 MB"`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** `1500000` → `"1.5 MB/s"`. */
export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Time left for `remaining` bytes at `bytesPerSecond`: `"12 s"`, `"3 min"`, `"1 h 5 min"`; `"?"` while the rate is unknown. */
export function formatEta(remaining: number, bytesPerSecond: number): string {
  if (!(bytesPerSecond > 0) || !Number.isFinite(remaining) || remaining < 0) return '?';
  return formatDuration(remaining / bytesPerSecond);
}

/** `2.345` → `"2.3 s"`, `75` → `"1 min 15 s"`, `3900` → `"1 h 5 min"`. */
export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${Math.max(0, seconds).toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min${whole % 60 ? ` ${whole % 60} s` : ''}`;
  const minutes = Math.round(whole / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** `3` → `"3 seeders"`, `1` → `"1 seeder"`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
