import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { HumanReporter } from './human-reporter.js';

/** A stream that keeps what is written, a terminal or not. */
function sink(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  }) as Writable & { isTTY: boolean; columns: number; text(): string };
  stream.isTTY = isTTY;
  stream.columns = 100;
  stream.text = () => text;
  return stream;
}

const HASH = 'ab'.repeat(32);
const fetching = (received: number) =>
  ({
    type: 'progress',
    phase: 'fetching',
    hash: HASH,
    name: 'out.bin',
    received,
    total: 1000,
    peers: 2,
    bytesPerSecond: 500,
    seeders: 3,
  }) as const;
const ESC = '\x1b[';

describe('HumanReporter', () => {
  it('off a terminal: plain lines, no escape codes, progress thinned, results on stdout', async () => {
    const out = sink(false);
    const err = sink(false);
    const reporter = new HumanReporter({ out, err });
    for (const received of [0, 100, 200, 300]) reporter.report(fetching(received));
    reporter.report({ type: 'warning', code: 'PARTIAL_KEPT', message: 'Kept 30%.' });
    reporter.report({ type: 'status', hash: HASH, alive: true, seeders: 2, leechers: 1 });
    reporter.report({ type: 'error', code: 'DEAD', message: 'It is gone.', exitCode: 10 });
    await reporter.close();
    assert.ok(!err.text().includes(ESC), 'no escape codes');
    assert.equal(
      err.text(),
      'out.bin [░░░░░░░░░░░░░░░░░░░░░░░░]   0%  0 B of 1.0 kB, 500 B/s, 2 peers, 2.0 s left\n' +
        'warning: Kept 30%.\n' +
        'error (DEAD): It is gone.\n',
    );
    assert.equal(out.text(), `${HASH}: alive, 2 seeders, 1 leecher\n`);
  });

  it('in a terminal: the progress line is redrawn in place, and messages go above it', async () => {
    const out = sink(true);
    const err = sink(true);
    const reporter = new HumanReporter({ out, err });
    reporter.report(fetching(0));
    await new Promise((resolve) => setTimeout(resolve, 150));
    reporter.report(fetching(500));
    await new Promise((resolve) => setTimeout(resolve, 150));
    reporter.report({ type: 'warning', code: 'X', message: 'Careful.' });
    reporter.report({
      type: 'done',
      command: 'fetch',
      hash: HASH,
      path: '/tmp/out.bin',
      size: 1000,
      ms: 2000,
      suppliers: ['A', 'B'],
      peerId: 'ME',
      bytesDown: 1000,
      resumedPieces: 0,
    });
    await reporter.close();
    const text = err.text();
    assert.ok(text.startsWith(`${ESC}?25l${ESC}?7l`), 'hides the cursor and clips long lines while live');
    assert.ok(text.includes(`${ESC}1F${ESC}J`), 'moves up over the live line to redraw it');
    assert.ok(text.includes(' 50% '), 'the later figure is drawn');
    assert.ok(text.includes(`${ESC}?7hwarning: Careful.\n${ESC}?7l`), 'the warning is printed above the live line, wrapped as usual');
    assert.ok(text.indexOf('warning: Careful.') < text.lastIndexOf(' 50% '), 'the live line is drawn again below it');
    assert.ok(text.endsWith(`${ESC}?7h${ESC}?25hSaved /tmp/out.bin (1.0 kB, SHA-256 verified) from 2 peers in 2.0 s.\n`));
    assert.equal(out.text(), '');
  });
});
