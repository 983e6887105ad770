/**
 * A few lines at the bottom of a terminal, redrawn in place: the progress bars and the
 * seeding counts. Text printed meanwhile goes above them. Written by hand rather than
 * with a progress-bar library because the CLI needs bars and bar-less count lines in one
 * area, messages printed above it at any time, and nothing of it at all when the output
 * is not a terminal (human-reporter.ts prints plain lines then): cli-progress, the usual
 * choice, drops a message logged just before it stops and repeats whole bars every two
 * seconds into a log file. This is the fifty lines of ANSI that remain.
 */
import type { WriteStream } from 'node:tty';

/** Redraws at most this often. */
const FRAME_MS = 100;
const ESC = '\x1b[';

export class LiveLines {
  readonly #stream: WriteStream;
  #rows: string[] = [];
  /** Lines currently drawn, below which the cursor sits. */
  #drawn = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastDraw = 0;
  #active = false;
  /** Gives the terminal its cursor and wrapping back if the process exits while live (a second Ctrl-C, a crash). */
  readonly #restore = () => this.#stream.write(`${ESC}?7h${ESC}?25h`);

  constructor(stream: WriteStream) {
    this.#stream = stream;
  }

  /** Replaces the live lines; they are drawn within {@link FRAME_MS}. */
  set(rows: string[]): void {
    this.#rows = rows;
    if (!this.#active) {
      this.#active = true;
      // Hide the cursor, and clip long lines instead of wrapping, which would break the redraw.
      this.#stream.write(`${ESC}?25l${ESC}?7l`);
      process.once('exit', this.#restore);
    }
    const wait = FRAME_MS - (Date.now() - this.#lastDraw);
    if (wait <= 0) this.#draw();
    else this.#timer ??= setTimeout(() => this.#draw(), wait);
  }

  /** Writes `text` (whole lines) above the live lines. */
  print(text: string): void {
    if (!this.#active) {
      this.#stream.write(text);
      return;
    }
    // Wrapped as usual: only the live lines are clipped.
    this.#stream.write(`${this.#erase()}${ESC}?7h${text}${ESC}?7l${this.#render()}`);
  }

  /** Draws the live lines one last time and leaves them on screen; later output goes below. */
  stop(): void {
    if (!this.#active) return;
    this.#draw();
    this.#active = false;
    this.#rows = [];
    this.#drawn = 0;
    process.off('exit', this.#restore);
    this.#restore();
  }

  /** Takes the live lines off the screen (before a message that replaces them). */
  clear(): void {
    if (!this.#active) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stream.write(this.#erase());
    this.#active = false;
    this.#rows = [];
    process.off('exit', this.#restore);
    this.#restore();
  }

  #draw(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lastDraw = Date.now();
    this.#stream.write(`${this.#erase()}${this.#render()}`);
  }

  /** Moves to the first live line and clears from there down. */
  #erase(): string {
    const up = this.#drawn > 0 ? `${ESC}${this.#drawn}F` : '\r';
    this.#drawn = 0;
    return `${up}${ESC}J`;
  }

  #render(): string {
    this.#drawn = this.#rows.length;
    return this.#rows.map((row) => `${row}\n`).join('');
  }
}
