import { runTracker } from './scenarios/tracker.js';
const r = await runTracker({ peers: Number(process.argv[2] ?? 2000), clientProcesses: 4, hashesPerPeer: 3, perAddress: 60, holdMs: 3000, saturateMs: 3000, openLoopMs: 3000, offeredRate: 20000 });
console.log(JSON.stringify(r, null, 1));
