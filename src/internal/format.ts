const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** `1234567` → `"1.2 MB"` (decimal units, as browsers' download lists show). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
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

/** `0.4567` → `45`, clamped to 0…100; 0 when nothing is known. */
export function percent(done: number, total: number): number {
  if (!total) return 0;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

/** `3` → `"3 seeders"`, `1` → `"1 seeder"`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * Time left for `remaining` bytes at `bytesPerSecond`: `"12 s left"`, `"3 min left"`,
 * `"1 h 5 min left"`; empty while the rate is unknown (the first second of a download).
 */
export function formatEta(remaining: number, bytesPerSecond: number): string {
  if (!(bytesPerSecond > 0) || !Number.isFinite(remaining) || remaining < 0) return '';
  const seconds = Math.ceil(remaining / bytesPerSecond);
  if (seconds < 60) return `${Math.max(1, seconds)} s left`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min left`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min left`;
}
