/**
 * Where a download keeps the pieces it verified: in memory ({@link MemoryPieceStore}),
 * or on disk (disk-piece-store.ts), so that a file larger than memory can be fetched
 * and served again.
 *
 * A store is shared: the download writing it, the partial (then whole) copy served to
 * peers, and the callers reading the result each {@link PieceStore.retain} it, and it
 * frees its memory or deletes its file when the last of them lets go.
 */
export abstract class PieceStore {
  /** Where the bytes live. */
  abstract readonly where: 'memory' | 'disk';
  /**
   * True when {@link read} resolves a new buffer each time, which the caller may keep
   * and change: a reader that hands bytes on need not copy them again.
   */
  readonly ownReads: boolean = false;
  /** File size in bytes. */
  readonly size: number;
  /**
   * Pieces an earlier page wrote to this store before it was closed (a reload, say),
   * not verified since: the download checks them before it counts them.
   */
  resumed: readonly number[] = [];
  #refs = 0;
  #destroyed = false;

  constructor(size: number) {
    this.size = size;
  }

  /** Keeps verified piece `index`, which starts at byte `offset` of the file. The store may keep `bytes` itself. */
  abstract write(index: number, offset: number, bytes: Uint8Array): Promise<void>;

  /** `[start, end)` of the file, inside written pieces. Do not modify the result: it may be the store's own memory. */
  abstract read(start: number, end: number): Promise<Uint8Array>;

  /**
   * `[start, end)` in a buffer the caller owns (to keep, change or hand on): a read of
   * a store whose reads are new buffers already ({@link ownReads}) as it is, else a copy.
   */
  async readCopy(start: number, end: number): Promise<Uint8Array> {
    const bytes = await this.read(start, end);
    return this.ownReads ? bytes : bytes.slice();
  }

  /** Once every piece is written: the whole file in memory, for `fetch()`. Do not modify the result. */
  abstract bytes(): Promise<Uint8Array>;

  /**
   * Once every piece is written: the whole file as a Blob, which is what is served
   * from then on. A disk store's is backed by its file, and readable while the store is retained.
   */
  abstract blob(): Promise<Blob>;

  /** True once the last holder let go. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Holds the store until the returned function is called (more calls do nothing). */
  retain(): () => void {
    this.#refs++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#refs === 0 && !this.#destroyed) {
        this.#destroyed = true;
        this.free();
      }
    };
  }

  /** Frees the memory, or deletes the file: the last holder let go. */
  protected abstract free(): void;
}

/** The pieces in one buffer of the file's size: for small files, and where no disk can be used. */
export class MemoryPieceStore extends PieceStore {
  readonly where = 'memory';
  #buffer: Uint8Array | undefined;

  constructor(size: number) {
    super(size);
    this.#buffer = new Uint8Array(size);
  }

  async write(_index: number, offset: number, bytes: Uint8Array): Promise<void> {
    this.#live().set(bytes, offset);
  }

  async read(start: number, end: number): Promise<Uint8Array> {
    return this.#live().subarray(start, end);
  }

  async bytes(): Promise<Uint8Array> {
    return this.#live();
  }

  async blob(): Promise<Blob> {
    // A copy: `bytes()` went to a caller who may change them.
    return new Blob([this.#live() as Uint8Array<ArrayBuffer>]);
  }

  protected free(): void {
    this.#buffer = undefined;
  }

  #live(): Uint8Array {
    if (!this.#buffer) throw new Error('The piece store was freed.');
    return this.#buffer;
  }
}
