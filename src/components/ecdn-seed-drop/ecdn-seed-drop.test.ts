/// <reference types="mocha" />
import { expect, html, oneEvent, waitUntil } from '@open-wc/testing';
import { FakeEngine, makePng } from '../../../stories/fake-engine.js';
import { SwarmEngine } from '../../engine/engine.js';
import { mount, part } from '../../internal/test-fixtures.js';
import type { EcdnSeedDrop } from './ecdn-seed-drop.js';
import './ecdn-seed-drop.js';

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Picks `file` through the element's file input, as a user would. */
function pickFile(el: EcdnSeedDrop, file: File): void {
  const input = part(el, 'input') as HTMLInputElement;
  const transfer = new DataTransfer();
  transfer.items.add(file);
  input.files = transfer.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
}

describe('<ecdn-seed-drop>', () => {
  it('is an idle, keyboard-operable drop zone that uploads nothing', async () => {
    const fake = new FakeEngine();
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop accept="image/*"></ecdn-seed-drop>`);
    expect(el.state).to.equal('idle');
    const zone = part(el, 'dropzone');
    expect(zone.getAttribute('role')).to.equal('button');
    expect(zone.tabIndex).to.equal(0);
    expect((part(el, 'input') as HTMLInputElement).accept).to.equal('image/*');
    let opened = 0;
    (part(el, 'input') as HTMLInputElement).click = () => void opened++;
    zone.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    zone.dispatchEvent(new KeyboardEvent('keydown', { key: ' ', bubbles: true }));
    zone.click();
    expect(opened).to.equal(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.calls, 'no engine call before a file is chosen').to.deep.equal([]);
    await expect(el).shadowDom.to.be.accessible();
  });

  it('warns while seeding from a network others can reach only through a relay the server lacks', async () => {
    const verdict = 'Your network (a symmetric NAT) blocks direct connections and this server has no relay configured.';
    const fake = new FakeEngine({ diagnosis: { nat: 'symmetric', turn: 'none', verdict } });
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    pickFile(el, new File(['hello'], 'hello.txt'));
    await waitUntil(() => el.shadowRoot!.querySelector('[part="reach-warning"]'), 'the warning appears');
    expect(part(el, 'reach-warning').textContent).to.include(verdict).and.include('may not be able to download');
    await expect(el).shadowDom.to.be.accessible();

    const direct = new FakeEngine();
    const fine = await mount<EcdnSeedDrop>(direct, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    pickFile(fine, new File(['hello'], 'hello.txt'));
    await waitUntil(() => direct.calls.some((c) => c.method === 'diagnose') && fine.state === 'ready');
    await fine.updateComplete;
    expect(fine.shadowRoot!.querySelector('[part="reach-warning"]'), 'no warning where peers connect directly').to.equal(null);
  });

  it('has a private switch: files dropped while it is on get a #k= link that names nothing, and snippets with the key', async () => {
    const fake = new FakeEngine();
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    const toggle = part(el, 'private-switch').querySelector('input')!;
    expect(toggle.getAttribute('role')).to.equal('switch');
    expect(toggle.checked).to.equal(false);
    toggle.click();
    await el.updateComplete;
    expect(el.encrypt).to.equal(true);
    expect(el.hasAttribute('private'), 'reflected as the private attribute').to.equal(true);
    pickFile(el, new File(['the secret results'], 'results.csv', { type: 'text/csv' }));
    await waitUntil(() => el.state === 'ready', 'seeded');
    await el.updateComplete;
    const [file] = el.files;
    expect(file!.private).to.equal(true);
    expect(file!.link).to.match(/\/f\/[0-9a-f]{64}#k=[A-Za-z0-9_-]{22}$/);
    const key = file!.link!.split('#k=')[1]!;
    expect(part(el, 'link').textContent).to.not.include('results');
    expect(part(el, 'panel').textContent).to.include('private');
    const snippetsText = [...el.shadowRoot!.querySelectorAll('[part~="snippet"]')].map((s) => s.textContent).join('\n');
    expect(snippetsText).to.include(`key="${key}"`).and.include(`{ key: '${key}' }`);
    await expect(el).shadowDom.to.be.accessible();

    // Switched off again: the next file is shared as it is.
    toggle.click();
    pickFile(el, new File(['public'], 'public.txt', { type: 'text/plain' }));
    await waitUntil(() => el.files.length === 2 && el.files[1]!.state === 'ready', 'the second file seeded');
    expect(el.files[1]!.private).to.equal(false);
    expect(el.files[1]!.link).to.match(/#name=public.txt&type=text%2Fplain$/);
  });

  it('shows hashing progress', async () => {
    const fake = new FakeEngine({ seed: 'loading', hashFraction: 0.4 });
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    const progress = oneEvent(el, 'ecdn-progress');
    pickFile(el, new File([new Uint8Array(1000)], 'zeros.bin'));
    expect((await progress).detail).to.include({ phase: 'hash', received: 400, total: 1000 });
    await el.updateComplete;
    expect(el.state).to.equal('loading');
    expect(part(el, 'progress').getAttribute('aria-valuenow')).to.equal('40');
    expect(part(el, 'panel').textContent).to.include('zeros.bin').and.include('Hashing… 40%');
    await expect(el).shadowDom.to.be.accessible();
    el.stop();
    expect(el.state).to.equal('idle');
  });

  it('seeds a picked file and shows its hash, snippets and live counts', async () => {
    const png = await makePng(20, 20);
    const fake = new FakeEngine({ seeders: 3, uploads: [1000, 0, 500] });
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    const loaded = oneEvent(el, 'ecdn-load');
    pickFile(el, new File([png as BlobPart], 'pic.png', { type: 'image/png' }));
    const hash = await sha256(png);
    expect((await loaded).detail).to.deep.equal({ hash, size: png.byteLength, type: 'image/png', name: 'pic.png' });
    expect(el.state).to.equal('ready');
    expect(el.hash).to.equal(hash);
    await el.updateComplete;
    expect(part(el, 'hash').textContent).to.equal(hash);
    const snippets = [...el.shadowRoot!.querySelectorAll('[part~=snippet] code')].map((c) => c.textContent);
    expect(snippets).to.deep.equal([
      `<ecdn-img hash="${hash}" alt="pic.png"></ecdn-img>`,
      `<ecdn-download hash="${hash}" filename="pic.png" size="${png.byteLength}"></ecdn-download>`,
      `const bytes = await EphemeralCDN.fetch('${hash}');`,
    ]);
    await waitUntil(() => el.seeders === 3 && el.downloaders === 2, 'counts from watch and stats', { timeout: 3_000 });
    await el.updateComplete;
    const counts = part(el, 'counts').textContent!.replace(/\s+/g, ' ');
    expect(counts).to.include('3 seeders').and.include('2 downloading from you');
    await expect(el).shadowDom.to.be.accessible();
  });

  it("follows the engine's seeding events while seeding, and only then", async () => {
    const fake = new FakeEngine({ seeders: 2 });
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    expect(fake.listeners('seeding'), 'none before a file is seeded').to.equal(0);
    const loaded = oneEvent(el, 'ecdn-load');
    pickFile(el, new File(['counted'], 'counted.txt'));
    const { hash } = (await loaded).detail;
    expect(fake.listeners('seeding')).to.equal(1);
    fake.setSeeding('d'.repeat(64), { bytesUp: 9_000_000, downloaders: 9 });
    fake.setSeeding(hash, { bytesUp: 2_500_000, downloaders: 4 });
    await el.updateComplete;
    expect(el.downloaders, 'figures of its own file only').to.equal(4);
    const counts = () => part(el, 'counts').textContent!.replace(/\s+/g, ' ');
    expect(counts()).to.include('4 downloading from you').and.include('2.5 MB');

    const parent = el.parentElement!;
    el.remove();
    expect(fake.listeners('seeding'), 'unsubscribed off the page').to.equal(0);
    parent.append(el);
    expect(fake.listeners('seeding'), 'subscribed again on return').to.equal(1);
    fake.setSeeding(hash, { bytesUp: 3_000_000, downloaders: 1 });
    await el.updateComplete;
    expect(counts()).to.include('1 downloading from you').and.include('3.0 MB');

    el.stop();
    expect(fake.listeners('seeding'), 'unsubscribed once stopped').to.equal(0);
  });

  it('shows the share link first, with a copy button and a QR code, then the hash and snippets', async () => {
    const copied: string[] = [];
    const writeText = navigator.clipboard.writeText;
    navigator.clipboard.writeText = async (text: string) => void copied.push(text);
    try {
      const fake = new FakeEngine({ seeders: 1, server: 'https://cdn.example.org' });
      const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
      const loaded = oneEvent(el, 'ecdn-load');
      pickFile(el, new File(['hello'], 'hello world.txt', { type: 'text/plain' }));
      const { hash } = (await loaded).detail;
      await el.updateComplete;
      const link = `https://cdn.example.org/f/${hash}#name=hello+world.txt&type=text%2Fplain`;
      expect(part(el, 'link').textContent!.trim()).to.equal(link);
      expect((part(el, 'link') as HTMLAnchorElement).href).to.equal(link);
      expect(el.files.map((f) => f.link)).to.deep.equal([link]);
      // The link comes before the hash and the snippets, in reading order.
      const order = ['link', 'qr', 'hash', 'snippet'].map((name) => part(el, name));
      for (let i = 1; i < order.length; i++) {
        expect(order[i - 1]!.compareDocumentPosition(order[i]!) & Node.DOCUMENT_POSITION_FOLLOWING).to.not.equal(0);
      }
      const qr = part(el, 'qr').querySelector('svg')!;
      expect(qr.getAttribute('role')).to.equal('img');
      expect(qr.getAttribute('aria-label')).to.include('hello world.txt');
      expect(qr.querySelector('path')!.getAttribute('d')!.length, 'a real code, drawn').to.be.greaterThan(500);

      const [copyLink, copyHash] = [...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('[part~=copy-button]')];
      copyLink!.click();
      await waitUntil(() => copyLink!.textContent!.includes('Copied'));
      copyHash!.click();
      await waitUntil(() => copied.length === 2);
      expect(copied).to.deep.equal([link, hash]);
      // No <ecdn-img> snippet for a text file.
      expect(el.shadowRoot!.querySelectorAll('[part~=snippet]').length).to.equal(2);
      await expect(el).shadowDom.to.be.accessible();
    } finally {
      navigator.clipboard.writeText = writeText;
    }
  });

  it("links to the page's own origin when the engine names no server", async () => {
    const el = await mount<EcdnSeedDrop>(new FakeEngine({ seeders: 1 }), html`<ecdn-seed-drop></ecdn-seed-drop>`);
    const loaded = oneEvent(el, 'ecdn-load');
    pickFile(el, new File(['x'], 'x.bin'));
    const { hash } = (await loaded).detail;
    expect(el.files[0]!.link).to.equal(`${location.origin}/f/${hash}#name=x.bin`);
  });

  it('seeds several files at once, each with its own link and stop button; stopping one leaves the others', async () => {
    const fake = new FakeEngine({ seeders: 1, server: 'https://cdn.example.org' });
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    const input = part(el, 'input') as HTMLInputElement;
    expect(input.multiple).to.equal(true);
    const transfer = new DataTransfer();
    for (const name of ['a.txt', 'b.txt', 'c.txt']) transfer.items.add(new File([`file ${name}`], name, { type: 'text/plain' }));
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    await waitUntil(() => el.files.length === 3 && el.files.every((f) => f.state === 'ready'), 'all three seeded');
    expect(el.state).to.equal('ready');
    expect([...fake.seeded].sort()).to.deep.equal(el.files.map((f) => f.hash!).sort());
    await el.updateComplete;
    const links = [...el.shadowRoot!.querySelectorAll('[part~=link]')].map((a) => a.textContent!.trim());
    expect(links).to.deep.equal(el.files.map((f) => f.link));
    await expect(el).shadowDom.to.be.accessible();

    const [, b] = el.files;
    const stops = el.shadowRoot!.querySelectorAll<HTMLButtonElement>('[part~=stop-button]');
    expect(stops.length).to.equal(3);
    expect(stops[1]!.textContent!.replace(/\s+/g, ' ').trim()).to.equal('Stop sharing b.txt');
    const unseeded = oneEvent(el, 'ecdn-unseed');
    stops[1]!.click();
    expect((await unseeded).detail.hash).to.equal(b!.hash);
    expect(el.files.map((f) => f.name)).to.deep.equal(['a.txt', 'c.txt']);
    expect(fake.seeded.has(b!.hash!)).to.equal(false);
    expect(fake.seeded.size, 'the others still seeded').to.equal(2);
    expect(fake.watchers(b!.hash!)).to.equal(0);
    expect(el.state).to.equal('ready');
    el.stop();
    expect(el.files).to.deep.equal([]);
    expect(el.state).to.equal('idle');
  });

  it('shares an image pasted on the page, but leaves a paste into a text field alone', async function () {
    const probe = new DataTransfer();
    probe.items.add(new File(['x'], 'x.png', { type: 'image/png' }));
    // Firefox drops the files of a clipboard event made by a script; a real paste has them.
    if (!new ClipboardEvent('paste', { clipboardData: probe }).clipboardData?.files.length) this.skip();
    const fake = new FakeEngine({ seeders: 1 });
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    const png = await makePng(8, 8);
    const paste = (target: EventTarget) => {
      const data = new DataTransfer();
      data.items.add(new File([png as BlobPart], 'image.png', { type: 'image/png' }));
      const event = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true, composed: true });
      target.dispatchEvent(event);
      return event.defaultPrevented;
    };
    const field = document.createElement('input');
    document.body.append(field);
    try {
      expect(paste(field), 'a text field keeps its paste').to.equal(false);
      expect(el.files).to.deep.equal([]);
      const loaded = oneEvent(el, 'ecdn-load');
      expect(paste(document.body)).to.equal(true);
      const { name, type } = (await loaded).detail;
      expect(type).to.equal('image/png');
      expect(name).to.match(/^Pasted image \d{4}-\d\d-\d\d \d\d\.\d\d\.\d\d\.png$/);
    } finally {
      field.remove();
    }
  });

  it('keeps the screen on while it seeds, where the browser has a wake lock', async () => {
    const requests: string[] = [];
    const sentinels: Array<{ released: boolean; release(): Promise<void> }> = [];
    Object.defineProperty(navigator, 'wakeLock', {
      configurable: true,
      value: {
        async request(type: string) {
          requests.push(type);
          const sentinel = {
            released: false,
            async release() {
              sentinel.released = true;
            },
          };
          sentinels.push(sentinel);
          return sentinel;
        },
      },
    });
    try {
      const el = await mount<EcdnSeedDrop>(new FakeEngine({ seeders: 1 }), html`<ecdn-seed-drop></ecdn-seed-drop>`);
      await el.updateComplete;
      expect(requests, 'nothing shared, screen free').to.deep.equal([]);
      const loaded = oneEvent(el, 'ecdn-load');
      pickFile(el, new File(['awake'], 'awake.txt'));
      await loaded;
      await waitUntil(() => el.keepsScreenOn, 'the lock is held');
      expect(requests).to.deep.equal(['screen']);
      el.stop();
      await el.updateComplete;
      expect(
        sentinels.every((s) => s.released),
        'released once nothing is shared',
      ).to.equal(true);
      expect(el.keepsScreenOn).to.equal(false);
    } finally {
      // The own property shadowed the browser's; removing it brings that back.
      delete (navigator as { wakeLock?: unknown }).wakeLock;
    }
  });

  it('seeds a dropped file', async () => {
    const fake = new FakeEngine({ seeders: 1 });
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    const transfer = new DataTransfer();
    transfer.items.add(new File(['dropped'], 'drop.txt'));
    const loaded = oneEvent(el, 'ecdn-load');
    part(el, 'dropzone').dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    await el.updateComplete;
    expect(part(el, 'base').classList.contains('dragging')).to.equal(true);
    part(el, 'dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    expect((await loaded).detail.name).to.equal('drop.txt');
  });

  it('stops seeding with the stop button', async () => {
    const fake = new FakeEngine({ seeders: 1 });
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    const loaded = oneEvent(el, 'ecdn-load');
    pickFile(el, new File(['bye'], 'bye.txt'));
    const { hash } = (await loaded).detail;
    await el.updateComplete;
    const unseeded = oneEvent(el, 'ecdn-unseed');
    part(el, 'stop-button').click();
    expect((await unseeded).detail.hash).to.equal(hash);
    expect(fake.calls.at(-1)).to.deep.equal({ method: 'unseed', hash });
    expect(el.state).to.equal('idle');
    expect(fake.watchers(hash)).to.equal(0);
  });

  it('warns before unload only while this page is the last seeder', async () => {
    const fake = new FakeEngine({ seeders: 1 });
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    const unload = () => {
      const event = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(event);
      return event.defaultPrevented;
    };
    expect(unload(), 'nothing seeded yet').to.equal(false);
    const loaded = oneEvent(el, 'ecdn-load');
    pickFile(el, new File(['only copy'], 'only.txt'));
    const { hash } = (await loaded).detail;
    await waitUntil(() => el.seeders === 1);
    expect(unload(), 'the last seeder').to.equal(true);
    fake.setStatus(hash, { seeders: 2 });
    expect(unload(), 'another seeder holds it').to.equal(false);
    fake.setStatus(hash, { seeders: 1 });
    el.stop();
    expect(unload(), 'stopped').to.equal(false);
  });

  it('shows a failure as an error and lets the user try again', async () => {
    const fake = new FakeEngine({ seed: 'error', errorCode: 'TRACKER_UNREACHABLE' });
    const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
    const failed = oneEvent(el, 'ecdn-error');
    pickFile(el, new File(['x'], 'x.txt'));
    expect((await failed).detail.code).to.equal('TRACKER_UNREACHABLE');
    await el.updateComplete;
    expect(el.state).to.equal('error');
    expect(part(el, 'error').textContent).to.include('tracker could not be reached');
    expect(part(el, 'dropzone'), 'the drop zone stays for another try').to.exist;
    await expect(el).shadowDom.to.be.accessible();
  });

  describe('against the real server', () => {
    it('seeds with the real engine and counts itself as a seeder', async () => {
      const engine = new SwarmEngine({ server: window.ECDN_SERVER, iceServers: [] });
      try {
        const el = await mount<EcdnSeedDrop>(engine, html`<ecdn-seed-drop></ecdn-seed-drop>`);
        const bytes = crypto.getRandomValues(new Uint8Array(60_000));
        const loaded = oneEvent(el, 'ecdn-load');
        pickFile(el, new File([bytes], 'random.bin'));
        expect((await loaded).detail.hash).to.equal(await sha256(bytes));
        await waitUntil(() => el.seeders === 1, 'the tracker counts this page', { timeout: 10_000 });
        expect(engine.stats().seeding.map((s) => s.hash)).to.deep.equal([el.hash]);
        el.stop();
        expect(engine.stats().seeding).to.deep.equal([]);
      } finally {
        engine.destroy();
      }
    });
  });
});
