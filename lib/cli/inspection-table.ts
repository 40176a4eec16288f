import type { ElectionInfo, LockInfo } from '../core/lock-inspection.js';

/** Longest leader value shown in a table cell; `--json` prints it whole. */
const MAX_VALUE_CHARS = 40;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * A cell as it may reach a terminal: control characters escaped (a key written by anyone could
 * carry escape sequences), `-` for nothing.
 */
function cell(text: string | null | undefined): string {
  if (text === null || text === undefined || text === '') return '-';
  return text.replace(
    CONTROL_CHARACTERS,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function ttlCell(ttlLeft: number | null): string {
  return ttlLeft === null ? '-' : `${ttlLeft}s`;
}

function shorten(text: string): string {
  const chars = [...text];
  return chars.length <= MAX_VALUE_CHARS
    ? text
    : `${chars.slice(0, MAX_VALUE_CHARS - 1).join('')}…`;
}

/** Rows as columns padded to their widest cell, the last column unpadded. */
function layOut(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, column) =>
    Math.max(...rows.map((row) => [...row[column]].length)),
  );
  return rows
    .map((row) =>
      row
        .map((text, column) =>
          column === row.length - 1 ? text : text + ' '.repeat(widths[column] - [...text].length),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/**
 * The table `zzlock locks` prints: a line per holder (the lock's name, mode and waiters on its
 * first), a semaphore's mode with its permits.
 * @example
 * locksTable(locks, 'zzlock/');
 * // LOCK    MODE          HOLDER      LEASE             TOKEN  TTL LEFT  WAITING
 * // export  semaphore(3)  api-1:4242  694d8a2f1c3b7e01  1043   14s       1
 * //                       api-2:77    694d8a2f1c3b7e09  1044   12s
 */
export function locksTable(locks: readonly LockInfo[], namespace: string): string {
  if (locks.length === 0) return `No locks under ${JSON.stringify(namespace)}.\n`;
  const rows: string[][] = [['LOCK', 'MODE', 'HOLDER', 'LEASE', 'TOKEN', 'TTL LEFT', 'WAITING']];
  for (const lock of locks) {
    const mode = lock.mode === 'semaphore' ? `semaphore(${lock.permits})` : lock.mode;
    const first = [cell(lock.name), mode];
    const holders = lock.holders.length > 0 ? lock.holders : [undefined];
    holders.forEach((holder, i) => {
      rows.push([
        ...(i === 0 ? first : ['', '']),
        cell(holder?.owner),
        cell(holder?.lease),
        holder === undefined ? '-' : holder.fencingToken.toString(),
        holder === undefined ? '-' : ttlCell(holder.ttlLeft),
        i === 0 ? String(lock.waiting) : '',
      ]);
    });
  }
  return layOut(rows);
}

/**
 * The table `zzlock elections` prints: a line per election, its leader's value shortened.
 * @example
 * electionsTable(elections, 'zzlock/');
 * // ELECTION  LEADER     TERM  LEASE             TTL LEFT  WAITING
 * // ingest    replica-1  2051  694d8a2f1c3b7e01  14s       2
 */
export function electionsTable(elections: readonly ElectionInfo[], namespace: string): string {
  if (elections.length === 0) return `No elections under ${JSON.stringify(namespace)}.\n`;
  const rows: string[][] = [['ELECTION', 'LEADER', 'TERM', 'LEASE', 'TTL LEFT', 'WAITING']];
  for (const { name, leader, waiting } of elections) {
    rows.push([
      cell(name),
      cell(shorten(leader.value)),
      leader.term.toString(),
      cell(leader.lease),
      ttlCell(leader.ttlLeft),
      String(waiting),
    ]);
  }
  return layOut(rows);
}
