import assert from 'node:assert/strict';

let gcFunction: (() => void) | undefined;

/**
 * `heapUsed` in bytes after a full garbage collection, for tests that assert
 * memory stays flat. Works without `--expose-gc` on the command line.
 */
export async function heapAfterGc(): Promise<number> {
  if (!gcFunction) {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  }
  // Two passes and a turn of the event loop, so that finalizers and weak callbacks have run.
  gcFunction();
  await new Promise((resolve) => setImmediate(resolve));
  gcFunction();
  return process.memoryUsage().heapUsed;
}

/** Bytes as MiB with one decimal, for messages. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Runs `run` (a fuzz property of `cases` cases), logs its time and heap growth, and fails if the heap grew by `bound` or more. */
export async function withFlatHeap(name: string, cases: number, bound: number, run: () => void): Promise<void> {
  const before = await heapAfterGc();
  const started = performance.now();
  run();
  const after = await heapAfterGc();
  console.log(
    `# ${name}: ${cases} cases in ${((performance.now() - started) / 1000).toFixed(1)} s, heap ${after >= before ? '+' : ''}${mib(after - before)}`,
  );
  assert.ok(after - before < bound, `heap grew ${mib(after - before)}`);
}
