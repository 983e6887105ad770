/// <reference types="mocha" />
import { expect, html, oneEvent, waitUntil } from '@open-wc/testing';
import { FakeEngine, SAMPLE_HASH } from '../../../stories/fake-engine.js';
import { SwarmEngine } from '../../engine/engine.js';
import { mount, part } from '../../internal/test-fixtures.js';
import type { EcdnDownload } from './ecdn-download.js';
import './ecdn-download.js';

/** Captures what `<a download>` clicks would save, instead of saving. */
function captureSaves(): { saves: Array<{ name: string; url: string }>; restore: () => void } {
  const saves: Array<{ name: string; url: string }> = [];
  const click = HTMLAnchorElement.prototype.click;
  HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
    if (this.download) saves.push({ name: this.download, url: this.href });
    else click.call(this);
  };
  return { saves, restore: () => (HTMLAnchorElement.prototype.click = click) };
}

const bytes = new TextEncoder().encode('id,value\n1,2\n');

describe('<ecdn-download>', () => {
  let capture: ReturnType<typeof captureSaves>;
  beforeEach(() => (capture = captureSaves()));
  afterEach(() => capture.restore());

  it('is idle with the size and live seeder count, waiting for a click', async () => {
    const fake = new FakeEngine({ bytes, seeders: 3 });
    const el = await mount<EcdnDownload>(
      fake,
      html`<ecdn-download hash=${SAMPLE_HASH} filename="report.csv" size="1234567"></ecdn-download>`,
    );
    await waitUntil(() => el.seeders === 3);
    await el.updateComplete;
    expect(el.state).to.equal('idle');
    expect(fake.calls.map((c) => c.method)).to.deep.equal(['watch']);
    const button = part(el, 'button') as HTMLButtonElement;
    expect(button.disabled).to.equal(false);
    expect(button.textContent!.replace(/\s+/g, ' ').trim()).to.match(/^Download report\.csv/);
    expect(part(el, 'meta').textContent).to.include('1.2 MB').and.include('3 seeders');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('shows progress, speed and peers while downloading, and cancels', async () => {
    const fake = new FakeEngine({
      fetch: 'loading',
      progress: { received: 500_000, total: 2_000_000, peers: 4, bytesPerSecond: 1_250_000 },
      seeders: 5,
    });
    const el = await mount<EcdnDownload>(fake, html`<ecdn-download hash=${SAMPLE_HASH} filename="big.bin"></ecdn-download>`);
    part(el, 'button').click();
    await oneEvent(el, 'ecdn-progress');
    await el.updateComplete;
    expect(el.state).to.equal('loading');
    expect(part(el, 'meta').textContent).to.include('25% of 2.0 MB').and.include('1.3 MB/s').and.include('4 peers').and.include('2 s left');
    expect(part(el, 'progress').getAttribute('aria-valuenow')).to.equal('25');
    expect((part(el, 'button') as HTMLButtonElement).disabled).to.equal(true);
    await expect(el).shadowDom.to.be.accessible();
    part(el, 'cancel').click();
    await el.updateComplete;
    expect(el.state).to.equal('idle');
    expect(capture.saves).to.deep.equal([]);
  });

  it('aborts a download under way when its hash changes, and ignores its result', async () => {
    const fake = new FakeEngine({ bytes: new Uint8Array(10), delay: 200, seeders: 1 });
    const el = await mount<EcdnDownload>(fake, html`<ecdn-download hash=${SAMPLE_HASH} filename="old.bin"></ecdn-download>`);
    let loads = 0;
    el.addEventListener('ecdn-load', () => loads++);
    part(el, 'button').click();
    await el.updateComplete;
    expect(el.state).to.equal('loading');
    el.hash = 'c'.repeat(64);
    await el.updateComplete;
    expect(el.state).to.equal('idle');
    expect(fake.calls.find((c) => c.method === 'fetchBlob')!.signal!.aborted).to.equal(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(loads, 'no ecdn-load for the old hash').to.equal(0);
    expect(el.state).to.equal('idle');
    expect(capture.saves).to.deep.equal([]);
  });

  it('aborts a download under way when it leaves the page', async () => {
    const fake = new FakeEngine({ fetch: 'loading' });
    const el = await mount<EcdnDownload>(fake, html`<ecdn-download hash=${SAMPLE_HASH}></ecdn-download>`);
    part(el, 'button').click();
    await waitUntil(() => fake.calls.some((c) => c.method === 'fetchBlob'));
    el.remove();
    expect(fake.calls.find((c) => c.method === 'fetchBlob')!.signal!.aborted).to.equal(true);
    expect(el.state).to.equal('idle');
  });

  it('saves the verified file through <a download> when done', async () => {
    const fake = new FakeEngine({ bytes, seeders: 1 });
    const el = await mount<EcdnDownload>(
      fake,
      html`<ecdn-download hash=${SAMPLE_HASH} filename="data.csv" type="text/csv"></ecdn-download>`,
    );
    part(el, 'button').click();
    const load = await oneEvent(el, 'ecdn-load');
    expect(load.detail).to.deep.equal({ hash: SAMPLE_HASH, size: bytes.byteLength, name: 'data.csv', type: 'text/csv' });
    await el.updateComplete;
    expect(el.state).to.equal('ready');
    expect(capture.saves.map((s) => s.name)).to.deep.equal(['data.csv']);
    const saved = await (await fetch(capture.saves[0]!.url)).text();
    expect(saved).to.equal('id,value\n1,2\n');
    expect(part(el, 'meta').textContent).to.include('Saved');
    // Save again does not download again.
    part(el, 'button').click();
    expect(capture.saves.length).to.equal(2);
    expect(fake.calls.filter((c) => c.method === 'fetchBlob').length).to.equal(1);
  });

  it('streams large files to disk through the save picker where the browser has one', async () => {
    const chunks: Uint8Array[] = [];
    const picked: string[] = [];
    const handle = {
      createWritable: async () => new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) }),
    };
    const w = window as unknown as { showSaveFilePicker?: unknown };
    const original = w.showSaveFilePicker;
    w.showSaveFilePicker = async (options: { suggestedName: string }) => {
      picked.push(options.suggestedName);
      return handle;
    };
    try {
      const fake = new FakeEngine({ bytes });
      const el = await mount<EcdnDownload>(
        fake,
        html`<ecdn-download hash=${SAMPLE_HASH} filename="huge.iso" size="100" stream-threshold="50"></ecdn-download>`,
      );
      part(el, 'button').click();
      const load = await oneEvent(el, 'ecdn-load');
      expect(load.detail.size).to.equal(bytes.byteLength);
      expect(picked).to.deep.equal(['huge.iso']);
      expect(fake.calls.map((c) => c.method)).to.include('stream');
      expect(new TextDecoder().decode(chunks[0])).to.equal('id,value\n1,2\n');
      expect(capture.saves).to.deep.equal([]);
    } finally {
      w.showSaveFilePicker = original;
    }
  });

  it('turns dead before any click when the tracker says nobody holds the file', async () => {
    const fake = new FakeEngine({ seeders: 0 });
    const el = await mount<EcdnDownload>(fake, html`<ecdn-download hash=${SAMPLE_HASH} filename="gone.zip"></ecdn-download>`);
    await oneEvent(el, 'ecdn-dead');
    await el.updateComplete;
    expect(el.state).to.equal('dead');
    expect((part(el, 'button') as HTMLButtonElement).disabled).to.equal(true);
    expect(part(el, 'meta').textContent).to.include('File is dead');
    fake.setStatus(SAMPLE_HASH, { alive: true, seeders: 1 });
    expect(el.state, 'back when someone seeds it again').to.equal('idle');
  });

  it('turns dead when the fetch finds the file dead', async () => {
    const fake = new FakeEngine({ fetch: 'dead', seeders: 1 });
    const el = await mount<EcdnDownload>(fake, html`<ecdn-download hash=${SAMPLE_HASH}></ecdn-download>`);
    part(el, 'button').click();
    await oneEvent(el, 'ecdn-dead');
    expect(el.state).to.equal('dead');
  });

  it('shows errors with a retry, and an invalid hash at once', async () => {
    const fake = new FakeEngine({ fetch: 'error', errorCode: 'NO_PEER_REACHABLE', seeders: 2 });
    const el = await mount<EcdnDownload>(fake, html`<ecdn-download hash=${SAMPLE_HASH} filename="x.bin"></ecdn-download>`);
    part(el, 'button').click();
    const error = await oneEvent(el, 'ecdn-error');
    expect(error.detail.code).to.equal('NO_PEER_REACHABLE');
    await el.updateComplete;
    expect(el.state).to.equal('error');
    const button = part(el, 'button') as HTMLButtonElement;
    expect(button.disabled).to.equal(false);
    expect(part(el, 'label').textContent).to.equal('Try again to download x.bin');
    fake.options = { bytes };
    button.click();
    await oneEvent(el, 'ecdn-load');
    expect(el.state).to.equal('ready');

    const invalid = oneEvent(document, 'ecdn-error');
    el.hash = 'nope';
    expect((await invalid).detail.code).to.equal('INVALID_HASH');
    await el.updateComplete;
    expect(el.state).to.equal('error');
    expect((part(el, 'button') as HTMLButtonElement).disabled).to.equal(true);
  });

  describe('against the real server', () => {
    let engine: SwarmEngine;
    beforeEach(() => (engine = new SwarmEngine({ server: window.ECDN_SERVER, iceServers: [] })));
    afterEach(() => engine.destroy());

    it('shows a hash nobody seeds as dead', async () => {
      const hash = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
      const el = await mount<EcdnDownload>(engine, html`<ecdn-download hash=${hash}></ecdn-download>`);
      await oneEvent(el, 'ecdn-dead');
      expect(el.state).to.equal('dead');
      expect(el.seeders).to.equal(0);
    });

    it('downloads and saves a file another engine seeds', async () => {
      const seeder = new SwarmEngine({ server: window.ECDN_SERVER, iceServers: [] });
      try {
        const hash = await seeder.seed(bytes);
        const el = await mount<EcdnDownload>(engine, html`<ecdn-download hash=${hash} filename="real.csv"></ecdn-download>`);
        await waitUntil(() => el.seeders === 1, 'the tracker counts the seeder', { timeout: 10_000 });
        part(el, 'button').click();
        await oneEvent(el, 'ecdn-load');
        expect(await (await fetch(capture.saves[0]!.url)).text()).to.equal('id,value\n1,2\n');
      } finally {
        seeder.destroy();
      }
    });

    it("shows the file's size, asked of its seeder, before the user clicks", async () => {
      const seeder = new SwarmEngine({ server: window.ECDN_SERVER, iceServers: [] });
      try {
        const hash = await seeder.seed(new Uint8Array(3 * 1024 * 1024 + 5));
        const el = await mount<EcdnDownload>(engine, html`<ecdn-download hash=${hash}></ecdn-download>`);
        await waitUntil(() => el.knownSize !== undefined, 'the size arrives', { timeout: 10_000 });
        expect(el.knownSize).to.equal(3 * 1024 * 1024 + 5);
        expect(el.state).to.equal('idle');
        await el.updateComplete;
        expect(part(el, 'meta').textContent).to.contain('3.1 MB');
        expect(engine.stats().bytesDown).to.be.below(64 * 1024, 'only the manifest was downloaded');
      } finally {
        seeder.destroy();
      }
    });
  });
});
