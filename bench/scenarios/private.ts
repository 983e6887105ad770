// What a private share costs: the same file from disk, seeded once as it is and once
// privately (encrypted on demand as peers ask), streamed by fresh pages that decrypt it
// as it arrives (into memory), alternating, in one Chromium with a profile on disk (as 'large' does).
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { pickFile } from '../../test/helpers/pages.js';
import { writeRandomFile } from '../../test/helpers/random.js';
import { launchProfileBrowser, type ProfileBrowser } from '../lib/profile-browser.js';
import { log, MiB, mbps, median, round } from '../lib/stats.js';

export interface PrivateOptions {
  size: number;
  runs: number;
}

export interface PrivateResult {
  results: Record<string, number>;
  raw: Record<string, unknown>;
}

/** Seeds the file at `path` as a user picking it would, as it is or privately; resolves with its hash (and key) and the ms it took. */
async function seedFromDisk(page: Page, path: string, encrypt: boolean): Promise<{ hash: string; key?: string; ms: number }> {
  const input = await pickFile(page, path);
  return page.evaluate(
    async ({ input, encrypt }) => {
      const file = (document.querySelector(input) as HTMLInputElement).files![0]!;
      const t0 = performance.now();
      if (!encrypt) {
        const hash = await window.EphemeralCDN.seed(file);
        return { hash, ms: performance.now() - t0 };
      }
      const share = await window.EphemeralCDN.seed(file, { encrypt: true });
      return { hash: share.hash, key: share.key, ms: performance.now() - t0 };
    },
    { input, encrypt },
  );
}

/**
 * Streams `hash` (decrypting with `key`, if any) in a fresh page, counting bytes; resolves
 * with ms and the count. The pieces stay in memory: on this machine's disk, a second
 * 256 MiB written right after the first runs at a fifth of the speed (write-back), which
 * would measure the disk, not the encryption.
 */
async function streamOnce(profile: ProfileBrowser, serverUrl: string, hash: string, key: string | undefined) {
  const page = await profile.openPage(serverUrl, 'memory');
  const t0 = performance.now();
  const bytes = await page.evaluate(
    async ({ hash, key }) => {
      let count = 0;
      await window.EphemeralCDN.stream(hash, { reseed: false, ...(key ? { key } : {}) }).pipeTo(
        new WritableStream({
          write(chunk) {
            count += chunk.byteLength;
          },
        }),
      );
      return count;
    },
    { hash, key },
  );
  const ms = performance.now() - t0;
  await page.close();
  return { ms, bytes };
}

export async function runPrivate(serverUrl: string, options: PrivateOptions): Promise<PrivateResult> {
  const { size, runs } = options;
  const profile = await launchProfileBrowser('private');
  const { dir } = profile;
  try {
    const path = join(dir, 'private.bin');
    await writeRandomFile(path, size);
    // Two seeders, so that one page's cache of pieces read does not help the other.
    const plainSeeder = await profile.openPage(serverUrl, 'auto');
    const privateSeeder = await profile.openPage(serverUrl, 'auto');
    for (const page of [plainSeeder, privateSeeder]) await page.evaluate(() => window.EphemeralCDN.seed(new Uint8Array([1, 2, 3])));
    const plain = await seedFromDisk(plainSeeder, path, false);
    const secret = await seedFromDisk(privateSeeder, path, true);
    log(
      `private: ${size / MiB} MiB seeded as it is in ${Math.round(plain.ms)} ms, privately in ${Math.round(secret.ms)} ms ` +
        `(${mbps(size, plain.ms).toFixed(0)} and ${mbps(size, secret.ms).toFixed(0)} MB/s)`,
    );
    const plainRuns: number[] = [];
    const privateRuns: number[] = [];
    for (let r = 0; r < runs; r++) {
      // Alternating, so that both see the same machine.
      const first = r % 2 === 0 ? 'plain' : 'private';
      for (const which of first === 'plain' ? ['plain', 'private'] : ['private', 'plain']) {
        const { ms, bytes } =
          which === 'plain'
            ? await streamOnce(profile, serverUrl, plain.hash, undefined)
            : await streamOnce(profile, serverUrl, secret.hash, secret.key);
        if (bytes !== size) throw new Error(`${which} stream gave ${bytes} bytes, not ${size}`);
        (which === 'plain' ? plainRuns : privateRuns).push(mbps(size, ms));
      }
      log(`private run ${r + 1}: as it is ${plainRuns.at(-1)!.toFixed(1)} MB/s, private ${privateRuns.at(-1)!.toFixed(1)} MB/s`);
    }
    await plainSeeder.close();
    await privateSeeder.close();
    return {
      results: {
        private_mbps: round(median(privateRuns), 1),
        private_plain_mbps: round(median(plainRuns), 1),
        private_vs_plain: round(median(privateRuns) / median(plainRuns), 2),
        private_seed_vs_plain: round(plain.ms / secret.ms, 2),
      },
      raw: { size, runs: { plain: plainRuns, private: privateRuns }, seedMs: { plain: plain.ms, private: secret.ms } },
    };
  } finally {
    await profile.close();
  }
}
