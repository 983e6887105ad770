import { expect } from '@open-wc/testing';
import { startTicker } from './ticker.js';

describe('startTicker in a page', () => {
  it('ticks from a worker, so that a hidden tab keeps its pace, and stops', async () => {
    const Original = window.Worker;
    let workers = 0;
    window.Worker = class extends Original {
      constructor(...args: ConstructorParameters<typeof Worker>) {
        super(...args);
        workers++;
      }
    };
    try {
      let ticks = 0;
      const stop = startTicker(50, () => ticks++);
      await new Promise((resolve) => setTimeout(resolve, 400));
      stop();
      const atStop = ticks;
      expect(workers).to.equal(1);
      expect(atStop).to.be.within(4, 9);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(ticks).to.equal(atStop);
    } finally {
      window.Worker = Original;
    }
  });
});
