import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html } from 'lit';
import '../src/components/index.js';
import { FakeEngine, makePng, SAMPLE_HASH } from './fake-engine.js';
import { withEngine } from './helpers.js';

interface Args {
  hash: string;
  alt: string;
  type: string;
}

const meta: Meta<Args> = {
  title: 'Elements/ecdn-img',
  component: 'ecdn-img',
  args: { hash: SAMPLE_HASH, alt: 'A gradient', type: '' },
  parameters: {
    docs: {
      description: {
        component:
          'Every state below runs against a fake engine given through `@lit/context`, so nothing touches a network. See **Live** for the real thing.',
      },
    },
  },
};
export default meta;

type Story = StoryObj<Args>;

const img = (args: Args) => html`<ecdn-img hash=${args.hash} alt=${args.alt} type=${args.type}></ecdn-img>`;

/** No hash yet: nothing to show and nothing fetched. */
export const Idle: Story = {
  args: { hash: '' },
  render: (args) => withEngine(new FakeEngine(), img(args)),
};

/** Fetching from peers: progress, speed, and the live seeder count. */
export const Loading: Story = {
  render: (args) =>
    withEngine(
      new FakeEngine({
        fetch: 'loading',
        seeders: 3,
        progress: { received: 1_480_000, total: 3_600_000, peers: 3, bytesPerSecond: 2_400_000 },
      }),
      img(args),
    ),
};

/** Verified and shown, with the live seeder count as a badge. */
export const Ready: Story = {
  render: (args) => withEngine(new FakeEngine({ bytes: () => makePng(480, 300), seeders: 5 }), img(args)),
};

/** Nobody holds the file any more. */
export const Dead: Story = {
  render: (args) => withEngine(new FakeEngine({ fetch: 'dead', seeders: 0 }), img(args)),
};

/** The file was shown, then its last seeder left: the image stays, greyed, under the verdict. */
export const DeadAfterShown: Story = {
  render: (args) => {
    const engine = new FakeEngine({ bytes: () => makePng(480, 300), seeders: 1 });
    const host = withEngine(engine, img(args));
    host.addEventListener('ecdn-load', () => setTimeout(() => engine.setStatus(args.hash, { alive: false, seeders: 0 }), 50), {
      once: true,
    });
    return host;
  },
};

/** Any other failure, here `NO_PEER_REACHABLE`. */
export const ErrorState: Story = {
  name: 'Error',
  render: (args) => withEngine(new FakeEngine({ fetch: 'error', errorCode: 'NO_PEER_REACHABLE', seeders: 2 }), img(args)),
};

/** A private share opened without its key (`src` is a share link with no `#k=`): `KEY_REQUIRED`, said in words. */
export const KeyRequired: Story = {
  render: (args) =>
    withEngine(
      new FakeEngine({ fetch: 'error', errorCode: 'KEY_REQUIRED', seeders: 2 }),
      html`<ecdn-img src=${`/f/${args.hash}`} alt=${args.alt}></ecdn-img>`,
    ),
};

/** Slots replace the built-in loading, dead and error panels. */
export const CustomDeadSlot: Story = {
  render: (args) =>
    withEngine(
      new FakeEngine({ fetch: 'dead' }),
      html`<ecdn-img hash=${args.hash} alt=${args.alt}>
        <div slot="dead" style="padding:1rem;border:1px solid;border-radius:8px">🪦 This screenshot was shared for a moment and is gone.</div>
      </ecdn-img>`,
    ),
};

/** Restyled through CSS custom properties and parts. */
export const Themed: Story = {
  render: (args) =>
    withEngine(
      new FakeEngine({
        fetch: 'loading',
        seeders: 2,
        progress: { received: 700_000, total: 1_000_000, peers: 2, bytesPerSecond: 900_000 },
      }),
      html`<style>
          .themed {
            --ecdn-color-accent: #bf3989;
            --ecdn-color-surface-alt: #fff0f7;
            --ecdn-radius: 1rem;
            --ecdn-img-placeholder-width: 20rem;
          }
          .themed::part(progress) {
            height: 0.75rem;
          }
        </style>
        <ecdn-img class="themed" hash=${args.hash} alt=${args.alt}></ecdn-img>`,
    ),
};
