// A seeder in its own Node process, so that a fault scenario can freeze it
// with SIGSTOP: its sockets stay open while it stops heartbeating.
import { randomBytes } from 'node:crypto';
import { createNodeEngine } from '../helpers/node-peer.js';

const engine = createNodeEngine({ server: process.argv[2]! });
const hash = await engine.seed(randomBytes(64 * 1024));
console.log(`hash ${hash}`);
