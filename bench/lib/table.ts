/**
 * The printed result: one line per comparison, with the anchor measured in the same run, our
 * figure, their ratio (ours ÷ anchor) and the goal. A line that misses its goal is marked.
 */

export type Unit = 'ms' | 's' | 'msg/s' | 'deliv/s' | 'bytes';

export interface Goal {
  /** For latencies and memory: ours ÷ anchor must be at most `ratio`; for rates: at least. */
  ratio?: number;
  /** Checks beyond the ratio, such as "nothing lost". */
  checks?: { ok: boolean; text: string }[];
}

export interface Row {
  scenario: string;
  anchorName: string;
  anchor: number | undefined;
  ours: number | undefined;
  unit: Unit;
  better: 'lower' | 'higher';
  goal?: Goal;
  note?: string;
  /** Our side of this line failed to run; the line counts as missed. */
  error?: string;
  /** Why this line could not run here at all (e.g. no PostgreSQL server); it is not judged. */
  skipped?: string;
}

export interface Verdict {
  ratio: number | undefined;
  /** undefined: no goal on this line, or nothing to judge. */
  met: boolean | undefined;
  goalText: string;
}

const known = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);

export function judge(row: Row): Verdict {
  const ratio = known(row.anchor) && known(row.ours) && row.anchor !== 0 ? row.ours / row.anchor : undefined;
  const parts: string[] = [];
  let met: boolean | undefined;
  if (row.goal?.ratio !== undefined) {
    parts.push(`${row.better === 'lower' ? '≤' : '≥'} ${row.goal.ratio}×`);
    met = ratio === undefined ? false : row.better === 'lower' ? ratio <= row.goal.ratio : ratio >= row.goal.ratio;
  }
  for (const check of row.goal?.checks ?? []) {
    parts.push(check.text);
    met = (met ?? true) && check.ok;
  }
  if (row.skipped !== undefined) met = undefined;
  else if (row.error !== undefined) met = false;
  else if (!known(row.ours)) met = undefined;
  return { ratio, met, goalText: parts.length > 0 ? parts.join(', ') : '—' };
}

export function formatValue(value: number | undefined, unit: Unit): string {
  if (!known(value)) return '—';
  switch (unit) {
    case 'ms':
      return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
    case 's':
      return `${value.toFixed(2)} s`;
    case 'msg/s':
    case 'deliv/s':
      return `${Math.round(value).toLocaleString('en-US')} ${unit}`;
    case 'bytes':
      if (value >= 1024 * 1024) return `${(value / 1024 / 1024).toFixed(1)} MiB`;
      return value >= 1024 ? `${(value / 1024).toFixed(1)} KiB` : `${Math.round(value)} B`;
  }
}

/** The line of a (possibly multi-line, stack-carrying) error that says what went wrong. */
function headline(error: string): string {
  const lines = error
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const telling = lines.find((line) => /\bError\b/.test(line) && !line.startsWith('at ')) ?? lines[0] ?? '';
  return (lines[0] !== undefined && telling !== lines[0] ? `${lines[0]} ${telling}` : telling).slice(0, 160);
}

export function renderTable(rows: readonly Row[]): string {
  const header = ['', 'scenario', 'anchor', 'anchor value', 'ours', 'ratio', 'goal', 'note'];
  const lines = rows.map((row) => {
    const verdict = judge(row);
    return [
      verdict.met === false ? '✗' : verdict.met === true ? '✓' : ' ',
      row.scenario,
      row.anchorName,
      formatValue(row.anchor, row.unit),
      formatValue(row.ours, row.unit),
      verdict.ratio === undefined ? '—' : `${verdict.ratio.toFixed(2)}×`,
      verdict.met === false ? `${verdict.goalText}  MISSED` : verdict.goalText,
      row.skipped !== undefined
        ? `skipped: ${row.skipped}`
        : row.error === undefined
          ? (row.note ?? '')
          : `error: ${headline(row.error)}`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [render(header), widths.map((w) => '─'.repeat(w)).join('  '), ...lines.map(render)].join('\n');
}
