#!/usr/bin/env node
// Starts the CLI from its TypeScript sources, as the server's bin does: the package ships
// as source and runs through tsx, so there is no build step to forget, and in this
// repository it runs the library's source too (see ../tsconfig.json).
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/main.ts');
