import { expect } from '@open-wc/testing';
import { TrackerClient, type FileStatus } from './tracker-client.js';

// The tracker client in real Chromium against the real server that
// web-test-runner.config.mjs starts.

const server = (window as unknown as { ECDN_SERVER: string }).ECDN_SERVER;
const trackerUrl = `${server.replace(/^http/, 'ws')}/tracker`;
const randomHash = () => Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');

function nextStatus(client: TrackerClient, predicate: (s: FileStatus) => boolean): Promise<FileStatus> {
  return new Promise((resolve) => {
    const off = client.on('swarm', (status) => {
      if (predicate(status)) {
        off();
        resolve(status);
      }
    });
  });
}

describe('TrackerClient', () => {
  const clients: TrackerClient[] = [];
  const open = () => {
    const client = new TrackerClient({ url: trackerUrl });
    clients.push(client);
    return client;
  };
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy();
  });

  it('gets an identity the PeerServer will accept', async () => {
    const client = open();
    await client.ready();
    expect(client.identity?.peerId).to.match(/^[A-Za-z0-9]{20}$/);
    expect(client.identity?.token).to.be.a('string').with.length.greaterThan(16);
  });

  it('announces, and another client finds it and watches it die', async () => {
    const hash = randomHash();
    const seeder = open();
    const consumer = open();
    seeder.announce(hash, true);
    await seeder.ready();
    await consumer.ready();

    const found = await consumer.lookup(hash);
    expect(found).to.include({ alive: true, seeders: 1, leechers: 0 });
    expect(found.peers).to.deep.equal([seeder.identity!.peerId]);

    const alive = nextStatus(consumer, (s) => s.hash === hash && s.alive);
    consumer.watch(hash);
    await alive;
    const dead = nextStatus(consumer, (s) => s.hash === hash && !s.alive);
    seeder.withdraw(hash);
    expect(await dead).to.deep.equal({ hash, alive: false, seeders: 0, leechers: 0 });
  });

  it('counts a partial holder as a leecher, not a seeder', async () => {
    const hash = randomHash();
    const partial = open();
    partial.announce(hash, false);
    await partial.ready();
    const asker = open();
    const found = await asker.lookup(hash);
    expect(found).to.include({ alive: false, seeders: 0, leechers: 1 });
  });

  it('fails with TRACKER_UNREACHABLE when nothing listens', async () => {
    const client = new TrackerClient({ url: 'ws://127.0.0.1:9/tracker', requestTimeoutMs: 300 });
    clients.push(client);
    const err = await client.lookup(randomHash()).catch((e: { code: string }) => e);
    expect(err).to.have.property('code', 'TRACKER_UNREACHABLE');
  });
});
