/// <reference types="mocha" />
import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { FakeEngine, makePng, SAMPLE_HASH } from '../../../stories/fake-engine.js';
import { SwarmEngine } from '../../engine/engine.js';
import { configure } from '../../index.js';
import { mount, part } from '../../internal/test-fixtures.js';
import type { EcdnImg } from './ecdn-img.js';
import './ecdn-img.js';
import { sniffImageType } from '../../internal/sniff.js';

const OTHER_HASH = 'b'.repeat(64);

describe('<ecdn-img>', () => {
  it('is idle without a hash and touches no engine', async () => {
    const fake = new FakeEngine();
    const el = await mount<EcdnImg>(fake, html`<ecdn-img alt="nothing"></ecdn-img>`);
    expect(el.state).to.equal('idle');
    expect(el.getAttribute('state')).to.equal('idle');
    expect(fake.calls).to.deep.equal([]);
  });

  it('takes its hash and key from a share link in src, fetches with the key, and says in words when a key is needed', async () => {
    const key = 'yqdlZ-tYemfogSmv7Ws5PQ';
    const png = await makePng(8, 8);
    const fake = new FakeEngine({ bytes: png, seeders: 1 });
    const el = await mount<EcdnImg>(
      fake,
      html`<ecdn-img src=${`https://cdn.example.org/f/${SAMPLE_HASH}#k=${key}`} alt="private"></ecdn-img>`,
    );
    await waitUntil(() => el.state === 'ready', 'loaded');
    expect(el.hash).to.equal(SAMPLE_HASH);
    expect(el.key).to.equal(key);
    expect(fake.calls.filter((c) => c.method === 'fetch')).to.deep.include.members([
      { method: 'fetch', hash: SAMPLE_HASH, signal: fake.calls.find((c) => c.method === 'fetch')!.signal, key },
    ]);

    const locked = new FakeEngine({ fetch: 'error', errorCode: 'KEY_REQUIRED', seeders: 1 });
    const without = await mount<EcdnImg>(locked, html`<ecdn-img src=${`/f/${SAMPLE_HASH}`} alt="private"></ecdn-img>`);
    await waitUntil(() => without.state === 'error', 'failed');
    expect(part(without, 'error').textContent).to.include('This file is private');
    await expect(without).shadowDom.to.be.accessible();
  });

  it('shows progress and the live seeder count while loading', async () => {
    const fake = new FakeEngine({
      fetch: 'loading',
      progress: { received: 40_000, total: 100_000, peers: 2, bytesPerSecond: 1_500_000 },
      seeders: 3,
    });
    const el = await mount<EcdnImg>(fake, html`<ecdn-img hash=${SAMPLE_HASH} alt="cat"></ecdn-img>`);
    const progress = await oneEvent(el, 'ecdn-progress');
    expect(progress.detail).to.include({ hash: SAMPLE_HASH, received: 40_000, total: 100_000, phase: 'download' });
    await waitUntil(() => el.seeders === 3);
    await el.updateComplete;
    expect(el.state).to.equal('loading');
    const bar = el.shadowRoot!.querySelector('[role=progressbar]')!;
    expect(bar.getAttribute('aria-valuenow')).to.equal('40');
    expect(part(el, 'loading')!.textContent).to.include('3 seeders').and.include('40%').and.include('from 2 peers');
    expect(part(el, 'base')!.getAttribute('aria-busy')).to.equal('true');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('renders the verified image once loaded, with its sniffed type and seeders', async () => {
    const png = await makePng(64, 48);
    const fake = new FakeEngine({ bytes: png, seeders: 2 });
    const el = await mount<EcdnImg>(fake, html`<ecdn-img hash=${SAMPLE_HASH} alt="a gradient"></ecdn-img>`);
    const load = await oneEvent(el, 'ecdn-load');
    expect(load.detail).to.deep.equal({ hash: SAMPLE_HASH, size: png.byteLength, type: 'image/png' });
    expect(el.state).to.equal('ready');
    const img = part(el, 'image') as HTMLImageElement;
    expect(img.naturalWidth).to.equal(64);
    expect(img.alt).to.equal('a gradient');
    expect(img.src).to.match(/^blob:/);
    await waitUntil(() => part(el, 'seeders')?.textContent?.includes('2 seeders'));
    await expect(el).shadowDom.to.be.accessible();
  });

  it('uses the type attribute over sniffing', async () => {
    const fake = new FakeEngine({ bytes: await makePng(8, 8) });
    const el = await mount<EcdnImg>(fake, html`<ecdn-img hash=${SAMPLE_HASH} type="image/png"></ecdn-img>`);
    const load = await oneEvent(el, 'ecdn-load');
    expect(load.detail.type).to.equal('image/png');
  });

  it('shows a dead file as dead, and fires ecdn-dead', async () => {
    const fake = new FakeEngine({ fetch: 'dead', seeders: 0 });
    const el = await mount<EcdnImg>(fake, html`<ecdn-img hash=${SAMPLE_HASH}></ecdn-img>`);
    const dead = await oneEvent(el, 'ecdn-dead');
    expect(dead.detail.hash).to.equal(SAMPLE_HASH);
    await el.updateComplete;
    expect(el.state).to.equal('dead');
    expect(el.getAttribute('state')).to.equal('dead');
    expect(part(el, 'dead')!.textContent).to.include('File is dead');
    expect(el.shadowRoot!.querySelector('[role=status]')!.textContent).to.include('File is dead');
  });

  it('lets slots replace the dead and loading states', async () => {
    const fake = new FakeEngine({ fetch: 'dead' });
    const el = await mount<EcdnImg>(
      fake,
      html`<ecdn-img hash=${SAMPLE_HASH}><span slot="dead">Gone, sorry</span><span slot="loading">Wait…</span></ecdn-img>`,
    );
    await oneEvent(el, 'ecdn-dead');
    await el.updateComplete;
    const slot = el.shadowRoot!.querySelector<HTMLSlotElement>('slot[name=dead]')!;
    expect(slot.assignedElements().map((e) => e.textContent)).to.deep.equal(['Gone, sorry']);
    expect(el.shadowRoot!.querySelector('slot[name=loading]')).to.equal(null);
  });

  it('shows other failures as errors, with the code in ecdn-error', async () => {
    const fake = new FakeEngine({ fetch: 'error', errorCode: 'TIMEOUT' });
    const el = await mount<EcdnImg>(fake, html`<ecdn-img hash=${SAMPLE_HASH}></ecdn-img>`);
    const error = await oneEvent(el, 'ecdn-error');
    expect(error.detail.code).to.equal('TIMEOUT');
    await el.updateComplete;
    expect(el.state).to.equal('error');
    expect(part(el, 'error')!.textContent).to.include('took too long');
  });

  it('reports bytes that are not an image as an error', async () => {
    const fake = new FakeEngine({ bytes: new TextEncoder().encode('just some text') });
    const el = await mount<EcdnImg>(fake, html`<ecdn-img hash=${SAMPLE_HASH}></ecdn-img>`);
    const error = await oneEvent(el, 'ecdn-error');
    expect(error.detail.code).to.equal('UNKNOWN');
    expect(el.state).to.equal('error');
  });

  it('turns dead when the last seeder leaves after it was shown, and back when the file returns', async () => {
    const fake = new FakeEngine({ bytes: await makePng(16, 16), seeders: 1 });
    const el = await mount<EcdnImg>(fake, html`<ecdn-img hash=${SAMPLE_HASH}></ecdn-img>`);
    await oneEvent(el, 'ecdn-load');
    await waitUntil(() => el.seeders === 1);
    const dead = oneEvent(el, 'ecdn-dead');
    fake.setStatus(SAMPLE_HASH, { alive: false, seeders: 0 });
    await dead;
    await el.updateComplete;
    expect(el.state).to.equal('dead');
    expect(part(el, 'image')!.hidden, 'the image stays, greyed, under the verdict').to.equal(false);
    fake.setStatus(SAMPLE_HASH, { alive: true, seeders: 1 });
    expect(el.state).to.equal('ready');
  });

  it('drops a late result for an old hash and revokes the old object URL', async () => {
    const png = await makePng(10, 10);
    const revoked: string[] = [];
    const revoke = URL.revokeObjectURL;
    URL.revokeObjectURL = (url: string) => {
      revoked.push(url);
      revoke.call(URL, url);
    };
    try {
      // The first hash answers slowly, the second at once.
      const slow = new FakeEngine({ bytes: png, delay: 300 });
      const el = await mount<EcdnImg>(slow, html`<ecdn-img hash=${SAMPLE_HASH}></ecdn-img>`);
      slow.options = { bytes: await makePng(20, 20) };
      el.hash = OTHER_HASH;
      const load = await oneEvent(el, 'ecdn-load');
      expect(load.detail.hash).to.equal(OTHER_HASH);
      const firstUrl = (part(el, 'image') as HTMLImageElement).src;
      await new Promise((r) => setTimeout(r, 400));
      expect((part(el, 'image') as HTMLImageElement).src, 'the slow answer for the old hash is ignored').to.equal(firstUrl);
      expect((part(el, 'image') as HTMLImageElement).naturalWidth).to.equal(20);

      el.hash = SAMPLE_HASH;
      await el.updateComplete;
      expect(revoked).to.include(firstUrl);
      await oneEvent(el, 'ecdn-load');
      const secondUrl = (part(el, 'image') as HTMLImageElement).src;
      el.remove();
      expect(revoked, 'revoked on disconnect').to.include(secondUrl);
    } finally {
      URL.revokeObjectURL = revoke;
    }
  });

  it('aborts its fetch when it leaves the page, and fetches again when it comes back', async () => {
    const fake = new FakeEngine({ fetch: 'loading' });
    const el = await mount<EcdnImg>(fake, html`<ecdn-img hash=${SAMPLE_HASH}></ecdn-img>`);
    const fetches = () => fake.calls.filter((c) => c.method === 'fetch');
    await waitUntil(() => fetches().length === 1);
    const parent = el.parentElement!;
    el.remove();
    expect(fetches()[0]!.signal!.aborted, 'the first fetch is aborted').to.equal(true);
    parent.append(el);
    await waitUntil(() => fetches().length === 2, 'a second fetch on return');
    expect(fetches()[1]!.signal!.aborted).to.equal(false);
    expect(el.state).to.equal('loading');
  });

  it('goes idle and aborts when its hash is cleared', async () => {
    const fake = new FakeEngine({ fetch: 'loading' });
    const el = await mount<EcdnImg>(fake, html`<ecdn-img hash=${SAMPLE_HASH}></ecdn-img>`);
    await waitUntil(() => fake.calls.some((c) => c.method === 'fetch'));
    el.hash = '';
    await el.updateComplete;
    expect(el.state).to.equal('idle');
    expect(fake.calls.find((c) => c.method === 'fetch')!.signal!.aborted).to.equal(true);
    expect(part(el, 'loading')).to.equal(null);
  });

  it('unwatches when it leaves the page', async () => {
    const fake = new FakeEngine({ fetch: 'loading', seeders: 2 });
    const el = await mount<EcdnImg>(fake, html`<ecdn-img hash=${SAMPLE_HASH}></ecdn-img>`);
    await waitUntil(() => el.seeders === 2);
    expect(fake.watchers(SAMPLE_HASH)).to.equal(1);
    el.remove();
    expect(fake.watchers(SAMPLE_HASH)).to.equal(0);
  });

  describe('against the real server', () => {
    let engine: SwarmEngine;
    beforeEach(() => {
      engine = new SwarmEngine({ server: window.ECDN_SERVER, iceServers: [] });
    });
    afterEach(() => engine.destroy());

    it('shows a hash nobody seeds as dead', async () => {
      const hash = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
      const el = await mount<EcdnImg>(engine, html`<ecdn-img hash=${hash}></ecdn-img>`);
      await oneEvent(el, 'ecdn-dead');
      expect(el.state).to.equal('dead');
    });

    it('shows an invalid hash as an error', async () => {
      // INVALID_HASH fails before any network access, so before the fixture resolves.
      const fired = oneEvent(document, 'ecdn-error');
      const el = await mount<EcdnImg>(engine, html`<ecdn-img hash="not-a-hash"></ecdn-img>`);
      const error = await fired;
      expect(error.detail.code).to.equal('INVALID_HASH');
      expect(el.state).to.equal('error');
      expect(el.seeders).to.equal(undefined);
    });

    it('falls back to the page engine without a provider, and renders a file another engine seeds', async () => {
      configure({ server: window.ECDN_SERVER, iceServers: [] });
      const png = await makePng(33, 21);
      const hash = await engine.seed(png);
      const el = await fixture<EcdnImg>(html`<ecdn-img hash=${hash} alt="seeded"></ecdn-img>`);
      await oneEvent(el, 'ecdn-load');
      expect((part(el, 'image') as HTMLImageElement).naturalWidth).to.equal(33);
      await waitUntil(() => (el.seeders ?? 0) >= 1, 'the tracker counts a seeder', { timeout: 10_000 });
    });
  });
});

describe('sniffImageType', () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  const text = (s: string) => new TextEncoder().encode(s);
  it('knows the usual image formats by their first bytes', async () => {
    expect(sniffImageType(await makePng(2, 2))).to.equal('image/png');
    expect(sniffImageType(bytes(0xff, 0xd8, 0xff, 0xe0))).to.equal('image/jpeg');
    expect(sniffImageType(text('GIF89a...'))).to.equal('image/gif');
    expect(sniffImageType(text('RIFF\0\0\0\0WEBPVP8 '))).to.equal('image/webp');
    expect(sniffImageType(new Uint8Array([0, 0, 0, 0x1c, ...text('ftypavif'), 0, 0, 0, 0, ...text('avifmif1miaf')]))).to.equal(
      'image/avif',
    );
    expect(sniffImageType(new Uint8Array([0, 0, 0, 0x1c, ...text('ftypmif1'), 0, 0, 0, 0, ...text('mif1avifmiaf')]))).to.equal(
      'image/avif',
    );
    expect(sniffImageType(text('\uFEFF <?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'))).to.equal('image/svg+xml');
  });
  it('returns undefined for anything else', () => {
    expect(sniffImageType(text('hello'))).to.equal(undefined);
    expect(sniffImageType(text('<html><body></body></html>'))).to.equal(undefined);
    expect(sniffImageType(new Uint8Array(0))).to.equal(undefined);
  });
});
