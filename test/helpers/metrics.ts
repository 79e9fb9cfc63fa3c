/** Reading a broker's GET /metrics in tests: every sample of the text exposition, by series. */

import { parseSamples, type Samples } from '../../src/cli/metrics-text.ts';

export { parseSamples };

export async function scrape(baseUrl: string, headers: Record<string, string> = {}): Promise<Samples> {
  const response = await fetch(`${baseUrl}/metrics`, { headers });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}: ${text}`);
  return parseSamples(text);
}

/** The value of one series; a series that is not there fails the test rather than reading as 0. */
export function sample(samples: Samples, series: string): number {
  const value = samples.get(series);
  if (value === undefined) throw new Error(`no series ${series} in /metrics`);
  return value;
}

/** How much each of `series` rose between two scrapes. */
export function rise(before: Samples, after: Samples, series: readonly string[]): Record<string, number> {
  return Object.fromEntries(series.map((s) => [s, sample(after, s) - sample(before, s)]));
}
