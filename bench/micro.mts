// `node --import tsx bench/micro.mts`: browser micro-benchmarks behind docs/performance.md
// (Blob reads as the uploader does them, crypto.subtle.digest as the downloader does it).
import { launchBrowser, openPage } from './lib/browser.js';
const b = await launchBrowser();
import http from 'node:http';
const srv = http.createServer((_q, s) => s.end('<title>x</title>'));
await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
const p = await openPage(b, `http://127.0.0.1:${(srv.address() as any).port}/`);
const r = await p.evaluate(async () => {
  const out: Record<string, number> = {};
  const big = new Uint8Array(64 * 1024 * 1024);
  const one = new Blob([big]);
  const parts: Blob[] = [];
  for (let i = 0; i < 64; i++) parts.push(new Blob([big.subarray(i * 1048576, (i + 1) * 1048576)]));
  const many = new Blob(parts);
  const B = 262080;
  const t = async (name: string, f: (i: number) => Promise<unknown> | unknown, n = 100) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await f(i);
    out[name] = (performance.now() - t0) / n;
  };
  await t('slice 256K of 1-part blob (sync part)', (i) => {
    one.slice(i * B, (i + 1) * B);
  });
  await t('slice+arrayBuffer 256K of 1-part blob', (i) => one.slice(i * B, (i + 1) * B).arrayBuffer());
  await t('slice 256K of 64-part blob (sync part)', (i) => {
    many.slice(i * B, (i + 1) * B);
  });
  await t('slice+arrayBuffer 256K of 64-part blob', (i) => many.slice(i * B, (i + 1) * B).arrayBuffer());
  await t('slice+arrayBuffer 1 MiB of 1-part blob', (i) => one.slice(i * 4 * B, (i + 1) * 4 * B).arrayBuffer(), 50);
  crypto.getRandomValues(big.subarray(0, 65536));
  const piece = new Uint8Array(4 * B);
  await t('crypto.subtle.digest 1 MiB piece', () => crypto.subtle.digest('SHA-256', piece), 20);
  await t(
    'crypto.subtle.digest 1 MiB piece (sync part)',
    () => {
      void crypto.subtle.digest('SHA-256', piece);
    },
    20,
  );
  await t('crypto.subtle.digest 64 MiB', () => crypto.subtle.digest('SHA-256', big), 3);
  return out;
});
console.log(r);
// hash-wasm, as hashBlob uses it, on bytes already in memory and on a Blob read in 4 MiB slices.
const { build } = await import('esbuild');
const hw = (
  await build({
    stdin: { contents: "import { createSHA256 } from 'hash-wasm'; globalThis.createSHA256 = createSHA256;", resolveDir: process.cwd() },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
  })
).outputFiles[0]!.text;
await p.addScriptTag({ content: hw });
const r2 = await p.evaluate(async () => {
  const out: Record<string, number> = {};
  const size = 256 * 1024 * 1024;
  const chunk = new Uint8Array(4 * 1024 * 1024);
  crypto.getRandomValues(chunk.subarray(0, 65536));
  const h = await (globalThis as any).createSHA256();
  h.init();
  let t0 = performance.now();
  for (let i = 0; i < size / chunk.length; i++) h.update(chunk);
  h.digest('hex');
  out['hash-wasm MB/s, bytes in memory'] = size / 1e6 / ((performance.now() - t0) / 1000);
  const parts: Blob[] = [];
  for (let i = 0; i < size / 1048576; i++) parts.push(new Blob([chunk.subarray(0, 1048576)]));
  const blob = new Blob(parts);
  t0 = performance.now();
  for (let pos = 0; pos < size; pos += chunk.length) await blob.slice(pos, pos + chunk.length).arrayBuffer();
  out['Blob read MB/s, 4 MiB slices, no hashing'] = size / 1e6 / ((performance.now() - t0) / 1000);
  h.init();
  t0 = performance.now();
  let next = blob.slice(0, chunk.length).arrayBuffer();
  for (let pos = 0; pos < size; pos += chunk.length) {
    const buf = await next;
    if (pos + chunk.length < size) next = blob.slice(pos + chunk.length, pos + 2 * chunk.length).arrayBuffer();
    h.update(new Uint8Array(buf));
  }
  h.digest('hex');
  out['hash-wasm MB/s over a Blob, read-ahead (as hashBlob)'] = size / 1e6 / ((performance.now() - t0) / 1000);
  return out;
});
console.log(r2);

await b.close();
srv.close();
