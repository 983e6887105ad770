/// <reference types="mocha" />
import { expect, html, oneEvent, waitUntil } from '@open-wc/testing';
import { FakeEngine, SAMPLE_HASH, makePng } from '../../../stories/fake-engine.js';
import { SwarmEngine } from '../../engine/engine.js';
import { mount, part } from '../../internal/test-fixtures.js';
import { parseCsv } from './csv.js';
import type { EcdnFile } from './ecdn-file.js';
import { describeType, expectedPreview, looksLikeText, previewFor } from './preview.js';
import './ecdn-file.js';

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

/** A tenth of a second of silence as a WAV file: 8 kHz, 8-bit mono. */
function wav(): Uint8Array {
  const samples = 800;
  const bytes = new Uint8Array(44 + samples).fill(128, 44);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string) => bytes.set(new TextEncoder().encode(text), offset);
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + samples, true);
  ascii(8, 'WAVEfmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, 8000, true);
  view.setUint32(28, 8000, true);
  view.setUint16(32, 1, true);
  view.setUint16(34, 8, true);
  ascii(36, 'data');
  view.setUint32(40, samples, true);
  return bytes;
}

const text = (el: Element) => el.textContent!.replace(/\s+/g, ' ').trim();
const csv = new TextEncoder().encode('city,people\n"Paris, France",2100000\nOslo,700000\n');

describe('<ecdn-file>', () => {
  let capture: ReturnType<typeof captureSaves>;
  beforeEach(() => (capture = captureSaves()));
  afterEach(() => capture.restore());

  it('shows the name, the size from the first peer and the live seeders before anything is downloaded', async () => {
    const fake = new FakeEngine({ bytes: csv, seeders: 3 });
    const el = await mount<EcdnFile>(
      fake,
      html`<ecdn-file hash=${SAMPLE_HASH} filename="cities.csv" type="text/csv" heading-level="1"></ecdn-file>`,
    );
    await waitUntil(() => el.size === csv.byteLength, 'the size from info()');
    await el.updateComplete;
    expect(el.state).to.equal('idle');
    expect(fake.calls.map((c) => c.method).sort()).to.deep.equal(['info', 'watch']);
    const name = part(el, 'name');
    expect(name.getAttribute('role')).to.equal('heading');
    expect(name.getAttribute('aria-level')).to.equal('1');
    expect(text(name)).to.equal('cities.csv');
    expect(text(part(el, 'meta'))).to.equal(`${csv.byteLength} B · CSV table · 3 seeders`);
    expect(text(part(el, 'download-button'))).to.equal(`Download ${csv.byteLength} B`);
    expect(text(part(el, 'preview-button'))).to.equal('Preview');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('downloads, saves, previews a CSV file as a table, and says that the page shares it now', async () => {
    const fake = new FakeEngine({ bytes: csv, seeders: 2, reseed: true });
    const el = await mount<EcdnFile>(fake, html`<ecdn-file hash=${SAMPLE_HASH} filename="cities.csv" type="text/csv"></ecdn-file>`);
    await waitUntil(() => el.seeders === 2);
    const loaded = oneEvent(el, 'ecdn-load');
    part(el, 'download-button').click();
    expect((await loaded).detail).to.deep.equal({ hash: SAMPLE_HASH, size: csv.byteLength, name: 'cities.csv', type: 'text/csv' });
    await el.updateComplete;
    expect(el.state).to.equal('ready');
    expect(capture.saves.map((s) => s.name)).to.deep.equal(['cities.csv']);
    const saved = new Uint8Array(await (await fetch(capture.saves[0]!.url)).arrayBuffer());
    expect(saved).to.deep.equal(csv);
    const rows = [...part(el, 'preview').querySelectorAll('tr')].map((tr) => [...tr.children].map((c) => c.textContent));
    expect(rows).to.deep.equal([
      ['city', 'people'],
      ['Paris, France', '2100000'],
      ['Oslo', '700000'],
    ]);
    expect(text(part(el, 'notice'))).to.include('This tab now shares the file too');
    expect(text(part(el, 'download-button'))).to.include('Save again');
    await expect(el).shadowDom.to.be.accessible();
    part(el, 'download-button').click();
    expect(capture.saves.length, 'saved again from memory').to.equal(2);
    expect(fake.calls.filter((c) => c.method === 'fetchBlob').length).to.equal(1);
  });

  it('warns before unload once it holds the only copy', async () => {
    const fake = new FakeEngine({ bytes: csv, seeders: 1, reseed: true });
    const el = await mount<EcdnFile>(fake, html`<ecdn-file hash=${SAMPLE_HASH} filename="cities.csv"></ecdn-file>`);
    const unload = () => {
      const event = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(event);
      return event.defaultPrevented;
    };
    await waitUntil(() => el.seeders === 1);
    expect(unload(), 'nothing held yet').to.equal(false);
    await el.preview();
    await el.updateComplete;
    expect(text(part(el, 'notice'))).to.include('only copy');
    expect(unload()).to.equal(true);
    fake.setStatus(SAMPLE_HASH, { seeders: 2 });
    expect(unload()).to.equal(false);
  });

  it('previews an image without saving it', async () => {
    const png = await makePng(40, 30);
    const fake = new FakeEngine({ bytes: png, seeders: 1 });
    // No type in the link: the image is recognised from its bytes.
    const el = await mount<EcdnFile>(fake, html`<ecdn-file hash=${SAMPLE_HASH} filename="shot"></ecdn-file>`);
    await waitUntil(() => el.seeders === 1);
    await el.updateComplete;
    part(el, 'preview-button').click();
    await waitUntil(() => el.state === 'ready');
    await el.updateComplete;
    const img = part(el, 'preview').querySelector('img')!;
    await waitUntil(() => img.complete && img.naturalWidth === 40, 'the image decodes');
    expect(img.alt).to.equal('Preview of shot');
    expect(capture.saves, 'a preview saves nothing').to.deep.equal([]);
    expect(text(part(el, 'download-button'))).to.match(/^Save /);
    // The fake does not reseed: the page says it does not share the file on.
    expect(text(part(el, 'notice'))).to.include('does not share the file');
    await expect(el).shadowDom.to.be.accessible();
    part(el, 'download-button').click();
    expect(capture.saves.map((s) => s.name)).to.deep.equal(['shot']);
  });

  it('previews the start of a text file of unknown type, and nothing for binary bytes', async () => {
    const log = new TextEncoder().encode('line 1\nline 2 – ünïcödé\n');
    const el = await mount<EcdnFile>(
      new FakeEngine({ bytes: log, seeders: 1 }),
      html`<ecdn-file hash=${SAMPLE_HASH} filename="build-output"></ecdn-file>`,
    );
    await el.preview();
    await el.updateComplete;
    expect(part(el, 'preview').querySelector('pre')!.textContent).to.equal('line 1\nline 2 – ünïcödé\n');
    await expect(el).shadowDom.to.be.accessible();

    const binary = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0, 1, 2, 3]);
    const other = await mount<EcdnFile>(
      new FakeEngine({ bytes: binary, seeders: 1 }),
      html`<ecdn-file hash=${SAMPLE_HASH} filename="data"></ecdn-file>`,
    );
    await other.preview();
    await other.updateComplete;
    expect(other.state).to.equal('ready');
    expect(other.shadowRoot!.querySelector('[part~=preview]'), 'no preview of binary bytes').to.equal(null);
  });

  it('plays a sound, and shows a PDF where the browser has a viewer', async () => {
    const el = await mount<EcdnFile>(
      new FakeEngine({ bytes: wav(), seeders: 1 }),
      html`<ecdn-file hash=${SAMPLE_HASH} filename="beep.wav" type="audio/wav"></ecdn-file>`,
    );
    await el.preview();
    await el.updateComplete;
    const audio = part(el, 'preview').querySelector('audio')!;
    expect(audio.controls).to.equal(true);
    await waitUntil(() => audio.readyState >= 1, 'the sound loads', { timeout: 5_000 });
    expect(audio.duration).to.be.closeTo(0.1, 0.01);
    await expect(el).shadowDom.to.be.accessible();

    const pdf = await mount<EcdnFile>(
      new FakeEngine({ bytes: new TextEncoder().encode('%PDF-1.4\n'), seeders: 1 }),
      html`<ecdn-file hash=${SAMPLE_HASH} filename="paper.pdf" type="application/pdf"></ecdn-file>`,
    );
    await pdf.updateComplete;
    const viewer = navigator.pdfViewerEnabled;
    expect(Boolean(pdf.shadowRoot!.querySelector('[part~=preview-button]')), 'a Preview button only with a PDF viewer').to.equal(viewer);
    if (viewer) {
      await pdf.preview();
      await pdf.updateComplete;
      expect(part(pdf, 'preview').querySelector('iframe')!.title).to.equal('Preview of paper.pdf');
    }
  });

  it('offers no preview for a type the browser cannot show', async () => {
    const el = await mount<EcdnFile>(
      new FakeEngine({ bytes: csv, seeders: 1 }),
      html`<ecdn-file hash=${SAMPLE_HASH} filename="archive.zip" type="application/zip"></ecdn-file>`,
    );
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[part~=preview-button]')).to.equal(null);
    expect(text(part(el, 'meta'))).to.include('ZIP file');
  });

  it('shows progress with speed, peers and the time left, keeps the screen on, and cancels', async () => {
    const requests: string[] = [];
    const sentinels: Array<{ released: boolean }> = [];
    Object.defineProperty(navigator, 'wakeLock', {
      configurable: true,
      value: {
        async request(type: string) {
          requests.push(type);
          const sentinel = { released: false, release: async () => void (sentinel.released = true) };
          sentinels.push(sentinel);
          return sentinel;
        },
      },
    });
    try {
      const fake = new FakeEngine({
        fetch: 'loading',
        progress: { received: 500_000, total: 2_000_000, peers: 3, bytesPerSecond: 100_000 },
        seeders: 3,
      });
      const el = await mount<EcdnFile>(fake, html`<ecdn-file hash=${SAMPLE_HASH} filename="big.bin"></ecdn-file>`);
      const progress = oneEvent(el, 'ecdn-progress');
      void el.download();
      await progress;
      await el.updateComplete;
      expect(el.state).to.equal('loading');
      expect(text(part(el, 'progress-text'))).to.equal('25% of 2.0 MB · 100 kB/s · from 3 peers · 15 s left');
      expect(part(el, 'progress').getAttribute('aria-valuenow')).to.equal('25');
      await waitUntil(() => el.keepsScreenOn, 'the screen is kept on');
      expect(requests).to.deep.equal(['screen']);
      await expect(el).shadowDom.to.be.accessible();
      part(el, 'cancel-button').click();
      await el.updateComplete;
      expect(el.state).to.equal('idle');
      expect(fake.calls.find((c) => c.method === 'fetchBlob')!.signal!.aborted).to.equal(true);
      expect(sentinels.every((s) => s.released)).to.equal(true);
    } finally {
      delete (navigator as { wakeLock?: unknown }).wakeLock;
    }
  });

  it('shows the dead state when nobody holds the file', async () => {
    const fake = new FakeEngine({ seeders: 0 });
    const el = await mount<EcdnFile>(fake, html`<ecdn-file hash=${SAMPLE_HASH} filename="gone.txt"></ecdn-file>`);
    await oneEvent(el, 'ecdn-dead');
    await el.updateComplete;
    expect(el.state).to.equal('dead');
    expect(text(part(el, 'dead'))).to.include('File is dead');
    expect(el.shadowRoot!.querySelector('[part~=download-button]'), 'nothing to click').to.equal(null);
    await expect(el).shadowDom.to.be.accessible();
    fake.setStatus(SAMPLE_HASH, { seeders: 1, alive: true });
    await waitUntil(() => el.state === 'idle', 'back when someone seeds it again');
  });

  it('shows an error with a way to try again', async () => {
    const fake = new FakeEngine({ fetch: 'error', errorCode: 'NO_PEER_REACHABLE', seeders: 2 });
    const el = await mount<EcdnFile>(fake, html`<ecdn-file hash=${SAMPLE_HASH} filename="far.bin"></ecdn-file>`);
    const failed = oneEvent(el, 'ecdn-error');
    void el.download();
    expect((await failed).detail.code).to.equal('NO_PEER_REACHABLE');
    await el.updateComplete;
    expect(el.state).to.equal('error');
    expect(text(part(el, 'error'))).to.include('No peer holding the file could be reached');
    expect(text(part(el, 'download-button'))).to.equal('Try again');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('refuses a malformed hash without touching the network', async () => {
    const fake = new FakeEngine();
    const el = await mount<EcdnFile>(fake, html`<ecdn-file hash="not-a-hash"></ecdn-file>`);
    await el.updateComplete;
    expect(el.state).to.equal('error');
    expect(fake.calls).to.deep.equal([]);
    expect(el.shadowRoot!.querySelector('[part~=download-button]')).to.equal(null);
    await expect(el).shadowDom.to.be.accessible();
  });

  describe('previews', () => {
    it('parses CSV with quotes, separators and line breaks in fields', () => {
      expect(parseCsv('a,b\n"x, y","say ""hi"""\r\n"multi\nline",2')).to.deep.equal([
        ['a', 'b'],
        ['x, y', 'say "hi"'],
        ['multi\nline', '2'],
      ]);
      expect(parseCsv('a;b;c\n1;2;3\n')).to.deep.equal([
        ['a', 'b', 'c'],
        ['1', '2', '3'],
      ]);
      expect(parseCsv('a\tb\n1\t2')).to.deep.equal([
        ['a', 'b'],
        ['1', '2'],
      ]);
      expect(parseCsv('a,b\n1,2\n3,4\n', 2)).to.have.length(2);
      expect(parseCsv('a,b\n1,2\n3,', 10, false), 'a row cut by the preview is dropped').to.deep.equal([
        ['a', 'b'],
        ['1', '2'],
      ]);
    });

    it('chooses a preview from the type, the name and the first bytes', async () => {
      expect(expectedPreview('image/webp', 'x')).to.equal('image');
      expect(expectedPreview('', 'notes.md')).to.equal('text');
      expect(expectedPreview('application/octet-stream', 'x')).to.equal('text');
      expect(expectedPreview('', 'table.tsv')).to.equal('csv');
      expect(expectedPreview('application/zip', 'a.zip')).to.equal('none');
      expect(expectedPreview('video/x-nonsense', 'a.vid')).to.equal('none');
      const png = await makePng(4, 4);
      expect(previewFor('', 'x', png)).to.deep.equal({ kind: 'image', type: 'image/png' });
      expect(previewFor('text/plain', 'x.txt', new Uint8Array([104, 105, 0]))).to.deep.equal({ kind: 'none', type: 'text/plain' });
      expect(looksLikeText(new TextEncoder().encode('é').subarray(0, 1)), 'a character cut at the end').to.equal(true);
      expect(looksLikeText(new Uint8Array([0xff, 0xfe, 0x41, 0x41, 0x41, 0x41]))).to.equal(false);
      expect(describeType('image/png', 'a.png')).to.equal('PNG image');
      expect(describeType('application/pdf', 'a.pdf')).to.equal('PDF document');
      expect(describeType('text/plain', 'a.txt')).to.equal('Text');
      expect(describeType('', 'a.tar')).to.equal('TAR file');
      expect(describeType('', 'noextension')).to.equal('');
    });
  });

  describe('against the real server', () => {
    it('downloads a file another engine seeds, and shows its size before', async () => {
      const seeder = new SwarmEngine({ server: window.ECDN_SERVER, iceServers: [] });
      const engine = new SwarmEngine({ server: window.ECDN_SERVER, iceServers: [] });
      try {
        const bytes = new TextEncoder().encode('hello from the other tab\n'.repeat(2000));
        const hash = await seeder.seed(bytes);
        const el = await mount<EcdnFile>(engine, html`<ecdn-file hash=${hash} filename="hello.txt" type="text/plain"></ecdn-file>`);
        await waitUntil(() => el.size === bytes.byteLength, 'the size from the seeder’s manifest', { timeout: 15_000 });
        expect(el.state).to.equal('idle');
        expect(
          engine.stats().downloading.every((d) => d.received === 0),
          'nothing downloaded yet',
        ).to.equal(true);
        const loaded = oneEvent(el, 'ecdn-load');
        part(el, 'download-button').click();
        await loaded;
        const saved = new Uint8Array(await (await fetch(capture.saves[0]!.url)).arrayBuffer());
        expect(saved).to.deep.equal(bytes);
        await waitUntil(() => el.seeders === 2, 'this page counts as a seeder now', { timeout: 10_000 });
      } finally {
        engine.destroy();
        seeder.destroy();
      }
    });
  });
});
