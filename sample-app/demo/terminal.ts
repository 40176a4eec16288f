/**
 * Plain-stdout rendering for the demo: a progress bar that redraws in place on a terminal and
 * prints a few milestone lines otherwise (CI logs, pipes), and aligned tables.
 */

const BAR_WIDTH = 30;
/** Fractions at which a non-terminal progress bar prints a line. */
const MILESTONES = [0.25, 0.5, 0.75, 1];

/** True when stdout is a terminal that understands carriage returns and colours. */
export const isInteractive = process.stdout.isTTY === true && process.env['TERM'] !== 'dumb';

const useColour = isInteractive && process.env['NO_COLOR'] === undefined;

/** Wraps text in an ANSI colour when stdout is a colour terminal. */
export function colour(code: 'green' | 'red' | 'yellow' | 'dim' | 'bold', text: string): string {
  if (!useColour) return text;
  const codes = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1 } as const;
  return `\u001b[${codes[code]}m${text}\u001b[0m`;
}

/** A progress bar over `total` steps; `update` as work completes, `finish` once at the end. */
export class ProgressBar {
  #milestone = 0;
  #finished = false;
  #lastDrawAt = 0;

  /**
   * @param total number of steps
   * @param describe extra text after the counter, e.g. the outcomes so far
   */
  constructor(
    private readonly total: number,
    private readonly describe: () => string = () => '',
  ) {}

  /** Reports `done` steps completed. */
  update(done: number): void {
    if (this.#finished) return;
    if (isInteractive) {
      const now = Date.now();
      if (now - this.#lastDrawAt < 50 && done < this.total) return;
      this.#lastDrawAt = now;
      process.stdout.write(`\r${this.#render(done)}\u001b[K`);
      return;
    }
    while (
      this.#milestone < MILESTONES.length &&
      done >= Math.ceil(this.total * MILESTONES[this.#milestone]) &&
      done < this.total
    ) {
      process.stdout.write(`${this.#render(done)}\n`);
      this.#milestone += 1;
    }
  }

  /** Prints a line of text above the bar without breaking it. */
  note(text: string, done: number): void {
    if (isInteractive && !this.#finished) {
      process.stdout.write(`\r\u001b[K${text}\n${this.#render(done)}`);
    } else {
      process.stdout.write(`${text}\n`);
    }
  }

  /** Draws the final state and ends the line. */
  finish(done: number): void {
    if (this.#finished) return;
    this.#finished = true;
    process.stdout.write(
      isInteractive ? `\r${this.#render(done)}\u001b[K\n` : `${this.#render(done)}\n`,
    );
  }

  #render(done: number): string {
    const filled = this.total === 0 ? BAR_WIDTH : Math.round((done / this.total) * BAR_WIDTH);
    const bar = '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
    const extra = this.describe();
    return `    [${bar}] ${String(done).padStart(String(this.total).length)}/${this.total}${extra === '' ? '' : `  ${extra}`}`;
  }
}

/** Renders rows as an aligned table with a header rule; numbers align right. */
export function renderTable(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const numeric = header.map((_, column) =>
    rows.every((row) => /^[-+]?[\d.,]+( ?\S{1,3})?$|^-$/.test(row[column] ?? '-')),
  );
  const line = (cells: readonly string[]): string =>
    '    ' +
    cells
      .map((cell, column) =>
        numeric[column] ? cell.padStart(widths[column]) : cell.padEnd(widths[column]),
      )
      .join('  ')
      .trimEnd();
  return [
    line(header),
    '    ' + widths.map((width) => '-'.repeat(width)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

/** Formats cents as a currency amount: 12345 → "123.45". */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const absolute = Math.abs(cents);
  return `${sign}${Math.floor(absolute / 100)}.${String(absolute % 100).padStart(2, '0')}`;
}

/** Formats seconds as milliseconds with sensible precision; `-` when unknown. */
export function formatSeconds(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '-';
  const ms = seconds * 1000;
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
