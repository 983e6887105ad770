/** A seeded PRNG (mulberry32): tests that need random input get the same input every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` pseudo-random bytes from `seed`. */
export function randomBytes(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const r = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

/**
 * Writes `size` random bytes to a new file at `path` and resolves with their SHA-256
 * as hex, for tests that pick a large file from disk. Random from the OS, not from a
 * seed: gigabytes through {@link prng} would take minutes.
 */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const { createHash, randomFillSync } = await import('node:crypto');
  const { open } = await import('node:fs/promises');
  const hash = createHash('sha256');
  const file = await open(path, 'w');
  try {
    const chunk = new Uint8Array(8 * 1024 * 1024);
    for (let written = 0; written < size; ) {
      const part = chunk.subarray(0, Math.min(chunk.byteLength, size - written));
      randomFillSync(part);
      hash.update(part);
      await file.write(part);
      written += part.byteLength;
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}
