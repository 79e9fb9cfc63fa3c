/** Reads the tables of the documentation, so tests can hold documentation and code to each other. */
import { readFileSync } from 'node:fs';

const ROOT = new URL('../../', import.meta.url);

/**
 * The body rows of the first table under the `## <heading>` section of `file` (relative to the
 * repository root, e.g. `docs/protocol.md`) whose header row starts with `| <firstColumn> |`, as
 * arrays of trimmed cells.
 */
export function docTable(file: string, heading: string, firstColumn: string): string[][] {
  const text = readFileSync(new URL(file, ROOT), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`${file} has no "## ${heading}" section`);
  const end = text.indexOf('\n## ', start + 1);
  const lines = text.slice(start, end === -1 ? undefined : end).split('\n');
  const header = lines.findIndex((line) => line.startsWith(`| ${firstColumn} |`));
  if (header === -1) throw new Error(`${file}'s "${heading}" section has no table starting with "${firstColumn}"`);
  const rows: string[][] = [];
  // Skip the header and its |---| line; the table ends at the first line that is not a row.
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, line.endsWith('|') ? -1 : undefined)
        .split('|')
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

/** `` `x` `` → `x`. */
export function unquote(cell: string): string {
  return cell.replace(/^`(.*)`$/, '$1');
}
