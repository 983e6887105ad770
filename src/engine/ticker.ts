/**
 * A repeating timer that keeps its pace in a hidden tab.
 *
 * Chromium throttles the timers of a page hidden for five minutes to one wake-up
 * a minute unless WebRTC is in use, and an idle seeder has no peer connection
 * open. Heartbeats paced by such a timer would arrive after the tracker's
 * timeout and the tab would be evicted while it still holds the file. A
 * dedicated worker's timers are not throttled that way, and its messages wake
 * the page, so the heartbeat ticks in a worker where one can be made; elsewhere
 * (Node, or a page whose CSP forbids blob: workers) it is a plain setInterval.
 */
export function startTicker(intervalMs: number, tick: () => void): () => void {
  const worker = tickerWorker(intervalMs);
  if (worker) {
    worker.onmessage = () => tick();
    return () => worker.terminate();
  }
  const timer = setInterval(tick, intervalMs);
  return () => clearInterval(timer);
}

function tickerWorker(intervalMs: number): Worker | undefined {
  const g = globalThis as { Worker?: typeof Worker; document?: unknown };
  // Only pages get throttled; Node and workers keep plain timers.
  if (typeof g.Worker !== 'function' || g.document === undefined) return undefined;
  let url: string | undefined;
  try {
    url = URL.createObjectURL(
      new Blob([`setInterval(() => postMessage(0), ${Math.max(50, Math.round(intervalMs))});`], { type: 'text/javascript' }),
    );
    return new g.Worker(url);
  } catch {
    return undefined;
  } finally {
    // The worker keeps its script once started; the URL is not needed after.
    if (url) setTimeout(() => URL.revokeObjectURL(url!), 10_000);
  }
}
