import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html } from 'lit';
import '../src/components/index.js';
import type { EcdnDownload } from '../src/components/index.js';
import { FakeEngine, SAMPLE_HASH } from './fake-engine.js';
import { after, withEngine } from './helpers.js';

interface Args {
  hash: string;
  filename: string;
  size?: number;
}

const meta: Meta<Args> = {
  title: 'Elements/ecdn-download',
  component: 'ecdn-download',
  args: { hash: SAMPLE_HASH, filename: 'results-2026-11.csv', size: 4_200_000 },
  parameters: {
    docs: {
      description: {
        component: 'Every state below runs against a fake engine given through `@lit/context`. Saving is swallowed in stories.',
      },
    },
  },
};
export default meta;

type Story = StoryObj<Args>;

const download = (args: Args) => html`<ecdn-download hash=${args.hash} filename=${args.filename} size=${args.size ?? ''}></ecdn-download>`;
const click = (host: HTMLElement) => after<EcdnDownload>(host, 'ecdn-download', (el) => void el.download());

/** Waiting for a click, with the size and the live seeder count. */
export const Idle: Story = {
  render: (args) => withEngine(new FakeEngine({ seeders: 3 }), download(args)),
};

/** Downloading: progress, speed and peers, and a cancel button. */
export const Loading: Story = {
  render: (args) =>
    click(
      withEngine(
        new FakeEngine({
          fetch: 'loading',
          seeders: 4,
          progress: { received: 2_650_000, total: 4_200_000, peers: 4, bytesPerSecond: 3_100_000 },
        }),
        download(args),
      ),
    ),
};

/** Downloaded, verified and saved. */
export const Ready: Story = {
  render: (args) => click(withEngine(new FakeEngine({ bytes: new Uint8Array(4_200_000), seeders: 6 }), download(args))),
};

/** Nobody holds the file any more: known before any click. */
export const Dead: Story = {
  render: (args) => withEngine(new FakeEngine({ seeders: 0 }), download(args)),
};

/** Any other failure (here `TIMEOUT`): the button tries again. */
export const ErrorState: Story = {
  name: 'Error',
  render: (args) => click(withEngine(new FakeEngine({ fetch: 'error', errorCode: 'TIMEOUT', seeders: 1 }), download(args))),
};

/** A private share (`key`) whose key does not open it: `DECRYPT_FAILED`, said in words; no byte of garbage is saved. */
export const WrongKey: Story = {
  render: (args) =>
    click(
      withEngine(
        new FakeEngine({ fetch: 'error', errorCode: 'DECRYPT_FAILED', seeders: 1 }),
        html`<ecdn-download hash=${args.hash} key="yqdlZ-tYemfogSmv7Ws5PQ"></ecdn-download>`,
      ),
    ),
};

/** A hash that is not 64 hex characters is an error at once. */
export const InvalidHash: Story = {
  args: { hash: 'not-a-hash' },
  render: (args) => withEngine(new FakeEngine(), download(args)),
};
