// The WebTorrent site (page, browser build, bittorrent-tracker) as a process of
// its own, for a namespace of the simulated internet that the bench process is
// not in: `node --import tsx bench/lib/webtorrent-site-main.ts <host>`. It
// prints `{ url, trackerUrl }` as one JSON line, then answers each info hash
// written to its stdin with the number of peers the tracker knows for it.
import { createInterface } from 'node:readline';
import { startWebTorrentSite } from './browser.js';

const site = await startWebTorrentSite(process.argv[2]);
console.log(JSON.stringify({ url: site.url, trackerUrl: site.trackerUrl }));
createInterface({ input: process.stdin })
  .on('line', (infoHash) => console.log(site.peersOf(infoHash.trim())))
  .on('close', () => void site.close().then(() => process.exit(0)));
