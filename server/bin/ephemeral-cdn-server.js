#!/usr/bin/env node
// Starts the server from its TypeScript sources: the server ships as source and
// runs through tsx, so there is no separate build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../index.ts');
