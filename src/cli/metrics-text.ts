/**
 * Reading the Prometheus text exposition of GET /metrics: each sample by its series as printed
 * (`name` or `name{label="value",…}`). Enough for `duo broker status`, which prints a few figures;
 * comments, help and type lines are skipped.
 */

/** Samples keyed by series as printed. */
export type Samples = Map<string, number>;

export function parseSamples(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0) samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** The sum of every series of metric `name` (all its label values); undefined when it has none. */
export function total(samples: Samples, name: string): number | undefined {
  let sum: number | undefined;
  for (const [series, value] of samples) if (series === name || series.startsWith(`${name}{`)) sum = (sum ?? 0) + value;
  return sum;
}
