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

  it('copies the hash', async () => {
    const copied: string[] = [];
    const writeText = navigator.clipboard.writeText;
    navigator.clipboard.writeText = async (text: string) => void copied.push(text);
    try {
      const fake = new FakeEngine({ seeders: 1 });
      const el = await mount<EcdnSeedDrop>(fake, html`<ecdn-seed-drop></ecdn-seed-drop>`);
      const loaded = oneEvent(el, 'ecdn-load');
      pickFile(el, new File(['hello'], 'hello.txt', { type: 'text/plain' }));
      const { hash } = (await loaded).detail;
      await el.updateComplete;
      part(el, 'copy-button').click();
      await waitUntil(() => part(el, 'copy-button').textContent!.includes('Copied'));
      expect(copied).to.deep.equal([hash]);
      // No <ecdn-img> snippet for a text file.
      expect(el.shadowRoot!.querySelectorAll('[part~=snippet]').length).to.equal(2);
    } finally {
      navigator.clipboard.writeText = writeText;
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
