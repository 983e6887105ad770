// The real EphemeralCDN server in a process of its own, so that the tracker
// benchmark can read its RSS and its CPU time without the load generators'.
// Started by bench/scenarios/tracker.ts with an IPC channel and --expose-gc.
import { createServer } from '../../server/create-server.js';

const server = createServer({});
const url = await server.listen(0, '127.0.0.1');

function send(msg: unknown): void {
  process.send?.(msg);
}

process.on('message', async (msg: { cmd: string }) => {
  if (msg.cmd === 'gc') {
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const mem = process.memoryUsage();
    send({ ev: 'gc', rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers });
  } else if (msg.cmd === 'stats') {
    const cpu = process.cpuUsage();
    send({ ev: 'stats', stats: server.tracker.stats(), cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000 });
  } else if (msg.cmd === 'close') {
    await server.close().catch(() => {});
    send({ ev: 'closed' });
    setTimeout(() => process.exit(0), 20);
  }
});
process.on('disconnect', () => process.exit(0));
send({ ev: 'listening', url });
