/** Just what the tracker uses of `geoip-country`, which ships no types. */
declare module 'geoip-country' {
  export interface GeoipCountryLookup {
    /** ISO 3166-1 alpha-2 code, e.g. 'US'. */
    country: string;
    name?: string;
    continent?: string;
  }
  const geoip: {
    /** Country of an IPv4 or IPv6 address, or null when unknown. */
    lookup(ip: string | number): GeoipCountryLookup | null;
  };
  export default geoip;
}
