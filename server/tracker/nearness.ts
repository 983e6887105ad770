import { subnetKey } from '../address.js';
import type { PeerInfo, PeerRecord } from './store.js';

/**
 * How near a candidate peer is to the asker, nearest first:
 * 0 same public IP (same host or same NAT), 1 same IPv4 /24 or IPv6 /48,
 * 2 same country, 3 anywhere else. An unknown address or country matches nothing.
 */
export type NearnessGroup = 0 | 1 | 2 | 3;

/** Where the asker is. `ip` must be normalized (see `normalizeIp`). */
export type Location = Pick<PeerInfo, 'ip' | 'country'>;

/** Which {@link NearnessGroup} `candidate` falls in, seen from `asker`. */
export function nearnessGroup(asker: Location, candidate: Location): NearnessGroup {
  if (asker.ip && asker.ip === candidate.ip) return 0;
  const subnet = asker.ip ? subnetKey(asker.ip) : '';
  if (subnet && subnet === subnetKey(candidate.ip)) return 1;
  if (asker.country && asker.country === candidate.country) return 2;
  return 3;
}

/**
 * Orders candidate holders for an asker and keeps the first `max`.
 *
 * Nearness groups come first ({@link NearnessGroup}); within a group, complete
 * holders (seeders) come before partial ones (leechers), since a seeder can serve
 * every byte range. Each (group, completeness) bucket is shuffled with `random`
 * so that load spreads over equally near peers. Pure: inject `random` in tests.
 */
export function orderByNearness(
  asker: Location,
  candidates: readonly PeerRecord[],
  max: number,
  random: () => number = Math.random,
): PeerRecord[] {
  if (max <= 0 || candidates.length === 0) return [];
  const buckets: PeerRecord[][] = [[], [], [], [], [], [], [], []];
  for (const candidate of candidates) {
    buckets[nearnessGroup(asker, candidate) * 2 + (candidate.complete ? 0 : 1)]!.push(candidate);
  }
  const ordered: PeerRecord[] = [];
  for (const bucket of buckets) {
    if (ordered.length >= max) break;
    const wanted = Math.min(bucket.length, max - ordered.length);
    partialShuffle(bucket, wanted, random);
    for (let i = 0; i < wanted; i++) ordered.push(bucket[i]!);
  }
  return ordered;
}

/** Fisher-Yates, stopped once the first `count` places are drawn. */
function partialShuffle<T>(items: T[], count: number, random: () => number): void {
  for (let i = 0; i < count; i++) {
    const j = i + Math.min(items.length - i - 1, Math.floor(random() * (items.length - i)));
    const chosen = items[j]!;
    items[j] = items[i]!;
    items[i] = chosen;
  }
}
