import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html } from 'lit';
import '../src/components/index.js';
import type { EcdnFile } from '../src/components/index.js';
import { FakeEngine, SAMPLE_HASH, makePng } from './fake-engine.js';
import { after, withEngine } from './helpers.js';

interface Args {
  hash: string;
  filename: string;
  type: string;
}

const meta: Meta<Args> = {
  title: 'Elements/ecdn-file',
  component: 'ecdn-file',
  args: { hash: SAMPLE_HASH, filename: 'build-graph.png', type: 'image/png' },
  parameters: {
    docs: {
      description: {
        component:
          'What a share link opens. Every state below runs against a fake engine given through `@lit/context`; saving is swallowed in stories.',
      },
    },
  },
};
export default meta;

type Story = StoryObj<Args>;

const file = (args: Args) => html`<ecdn-file hash=${args.hash} filename=${args.filename} type=${args.type}></ecdn-file>`;
const preview = (host: HTMLElement) => after<EcdnFile>(host, 'ecdn-file', (el) => void el.preview());
const csv = new TextEncoder().encode(
  ['run,commit,seconds', ...Array.from({ length: 12 }, (_, i) => `${i + 1},${(0xa1b2c3 + i * 4099).toString(16)},${212 - i * 7}`)].join(
    '\n',
  ),
);

/** Before the download: name, size from the first peer, live seeders. */
export const Idle: Story = {
  render: (args) => withEngine(new FakeEngine({ seeders: 3, progress: { total: 4_200_000 } }), file(args)),
};

/** Downloading: progress, speed, peers and the time left. */
export const Loading: Story = {
  render: (args) =>
    after<EcdnFile>(
      withEngine(
        new FakeEngine({
          fetch: 'loading',
          seeders: 4,
          progress: { received: 1_650_000, total: 4_200_000, peers: 3, bytesPerSecond: 850_000 },
        }),
        file(args),
      ),
      'ecdn-file',
      (el) => void el.download(),
    ),
};

/** Downloaded: an image previewed, and the page shares it on. */
export const ReadyImage: Story = {
  render: (args) => preview(withEngine(new FakeEngine({ bytes: () => makePng(640, 400), seeders: 2, reseed: true }), file(args))),
};

/** A CSV file previewed as a table. */
export const ReadyCsv: Story = {
  args: { filename: 'build-times.csv', type: 'text/csv' },
  render: (args) => preview(withEngine(new FakeEngine({ bytes: csv, seeders: 3, reseed: true }), file(args))),
};

/** The start of a text file, shown on a metered connection where the page does not reseed. */
export const ReadyText: Story = {
  args: { filename: 'build.log', type: 'text/plain' },
  render: (args) =>
    preview(
      withEngine(
        new FakeEngine({ bytes: new TextEncoder().encode('$ npm run build\n> node scripts/build.mjs\nbuilt dist/\n'), seeders: 1 }),
        file(args),
      ),
    ),
};

/** Nobody holds the file any more. */
export const Dead: Story = {
  render: (args) => withEngine(new FakeEngine({ seeders: 0 }), file(args)),
};

/** No peer could be reached. */
export const ErrorState: Story = {
  name: 'Error',
  render: (args) =>
    after<EcdnFile>(
      withEngine(new FakeEngine({ fetch: 'error', errorCode: 'NO_PEER_REACHABLE', seeders: 2 }), file(args)),
      'ecdn-file',
      (el) => void el.download(),
    ),
};
