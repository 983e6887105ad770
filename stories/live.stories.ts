import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html } from 'lit';
import { SwarmEngine } from '../src/index.js';
import '../src/components/index.js';
import type { EcdnDownload, EcdnImg } from '../src/components/index.js';
import { withEngine } from './helpers.js';

const SERVER = 'http://127.0.0.1:8787';

interface Args {
  server: string;
}

const meta: Meta<Args> = {
  title: 'Live/Local server',
  args: { server: SERVER },
  parameters: {
    docs: {
      description: {
        component: `The three elements against a real EphemeralCDN server. **Needs \`npm start\`** (the server on ${SERVER}). Drop a file: the image and the download below fetch it back by hash, over WebRTC, from this very page. Open this story in a second tab and paste the hash there to fetch across tabs.`,
      },
    },
  },
};
export default meta;

const engines = new Map<string, SwarmEngine>();
function engineFor(server: string): SwarmEngine {
  let engine = engines.get(server);
  if (!engine) {
    engine = new SwarmEngine({ server, iceServers: [] });
    engines.set(server, engine);
  }
  return engine;
}

/** Seed with the drop zone; view by hash with the image and the download button. */
export const LocalServer: StoryObj<Args> = {
  render: ({ server }) => {
    const show = (hash: string) => {
      host.querySelector<EcdnImg>('ecdn-img')!.hash = hash;
      host.querySelector<EcdnDownload>('ecdn-download')!.hash = hash;
      host.querySelector<HTMLInputElement>('input')!.value = hash;
    };
    const host = withEngine(
      engineFor(server),
      html`<div style="display:grid;gap:1rem;max-width:40rem">
        <ecdn-seed-drop @ecdn-load=${(e: CustomEvent<{ hash: string }>) => show(e.detail.hash)}></ecdn-seed-drop>
        <label style="font:14px system-ui">
          Hash to fetch
          <input
            style="width:100%;font:13px ui-monospace,monospace"
            placeholder="64 hex characters"
            @change=${(e: Event) => show((e.target as HTMLInputElement).value.trim())}
          />
        </label>
        <ecdn-img alt="The file, fetched back by hash"></ecdn-img>
        <ecdn-download></ecdn-download>
      </div>`,
    );
    return host;
  },
};
