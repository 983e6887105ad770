import type { StorybookConfig } from '@storybook/web-components-vite';

// `npm run storybook` (dev server on :6006) and `npm run build-storybook`
// (static site in storybook-static/). Stories use a fake engine given through
// context, except the live one, which needs `npm start` on 127.0.0.1:8787.
const config: StorybookConfig = {
  stories: ['../stories/**/*.stories.ts'],
  addons: ['@storybook/addon-docs'],
  framework: { name: '@storybook/web-components-vite', options: {} },
  core: { disableTelemetry: true },
};

export default config;
