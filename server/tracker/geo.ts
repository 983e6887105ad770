import geoip from 'geoip-country';
import createDebug from 'debug';
import { isPrivateAddress, normalizeIp } from '../address.js';

const debug = createDebug('ecdn:tracker');

/** Looks up the country of an address; `undefined` when unknown. The tracker's `lookupCountry` option has this type. */
export type CountryLookup = (ip: string) => string | undefined;

/**
 * ISO 3166-1 alpha-2 country of a public IP address, from the GeoLite2 data
 * bundled in `geoip-country` (loaded into memory when this module is imported).
 *
 * Accepts IPv4, IPv6 and IPv4-mapped IPv6 (`::ffff:1.2.3.4`). Loopback, private,
 * link-local and other non-public addresses have no country: `undefined`, as has
 * anything that is not an address. Never throws.
 */
export const lookupCountry: CountryLookup = (ip) => {
  const normalized = normalizeIp(ip);
  if (!normalized || isPrivateAddress(normalized)) return undefined;
  try {
    return geoip.lookup(normalized)?.country || undefined;
  } catch (err) {
    debug('geoip lookup of %s failed: %s', normalized, (err as Error).message);
    return undefined;
  }
};
