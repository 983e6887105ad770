import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html } from 'lit';
import '../src/components/index.js';
import type { EcdnSeedDrop } from '../src/components/index.js';
import { FakeEngine, makePng } from './fake-engine.js';
import { after, withEngine } from './helpers.js';

interface Args {
  accept: string;
}

const meta: Meta<Args> = {
  title: 'Elements/ecdn-seed-drop',
  component: 'ecdn-seed-drop',
  args: { accept: '' },
  parameters: {
    docs: {
      description: {
        component:
          'Every state below runs against a fake engine given through `@lit/context`; the stories pick a file for you. `<ecdn-seed-drop>` has no `dead` state: it holds the file itself.',
      },
    },
  },
};
export default meta;

type Story = StoryObj<Args>;

const drop = (args: Args) => html`<ecdn-seed-drop accept=${args.accept}></ecdn-seed-drop>`;
const pick = (host: HTMLElement, file: () => Promise<File>) =>
  after<EcdnSeedDrop>(host, 'ecdn-seed-drop', async (el) => void el.seedFile(await file()));
const png = async () => new File([(await makePng(640, 400)) as BlobPart], 'screenshot.png', { type: 'image/png' });

/** Waiting for a file: nothing leaves the page before one is dropped or picked. */
export const Idle: Story = {
  render: (args) => withEngine(new FakeEngine(), drop(args)),
};

/** Hashing a dropped file. */
export const Loading: Story = {
  render: (args) =>
    pick(
      withEngine(new FakeEngine({ seed: 'loading', hashFraction: 0.62 }), drop(args)),
      async () => new File([new Uint8Array(48_000_000)], 'dataset.parquet'),
    ),
};

/** Seeding: the share link with its QR code, live counts, the hash and snippets, a stop button. Three seeders, two peers downloading from this page. */
export const Ready: Story = {
  render: (args) => pick(withEngine(new FakeEngine({ seeders: 3, uploads: [180_000, 95_000, 0] }), drop(args)), png),
};

/**
 * The "private" switch on (`<ecdn-seed-drop private>`): the file is encrypted in the tab and its link is
 * `/f/<hash>#k=<key>`, with no name or type in it; the snippets carry the key too.
 */
export const Private: Story = {
  render: (args) =>
    pick(withEngine(new FakeEngine({ seeders: 1 }), html`<ecdn-seed-drop accept=${args.accept} private></ecdn-seed-drop>`), png),
};

/** Seeding as the only seeder: leaving the page would kill the file, and the page warns before unload. */
export const ReadyLastSeeder: Story = {
  render: (args) => pick(withEngine(new FakeEngine({ seeders: 1 }), drop(args)), png),
};

/** Several files at once: each one seeded and listed with its own link, QR code and stop button. */
export const SeveralFiles: Story = {
  render: (args) =>
    after<EcdnSeedDrop>(
      withEngine(new FakeEngine({ seeders: 2, server: 'https://cdn.example.org' }), drop(args)),
      'ecdn-seed-drop',
      async (el) =>
        void el.seedFiles([await png(), new File(['a,b\n1,2\n'], 'results.csv', { type: 'text/csv' }), new File(['notes'], 'notes.txt')]),
    ),
};

/** The tracker could not be reached. */
export const ErrorState: Story = {
  name: 'Error',
  render: (args) =>
    pick(
      withEngine(new FakeEngine({ seed: 'error', errorCode: 'TRACKER_UNREACHABLE' }), drop(args)),
      async () => new File(['a,b\n1,2\n'], 'table.csv'),
    ),
};
