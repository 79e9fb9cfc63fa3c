/**
 * The Node.js versions Claude Duo supports: the LTS lines CI tests (.ci/run runs each), which
 * package.json's `engines` and the README name too (a test keeps the four equal).
 */
export const SUPPORTED_NODE_MAJORS: readonly number[] = [26, 24, 22];

/** The major version of a Node version string such as `24.22.3` or `v22.23.5`. */
export function nodeMajor(version: string): number {
  return Number(/^v?(\d+)/.exec(version)?.[1]);
}

/** "22, 24 or 26", as sentences say it. */
export function supportedNodeText(): string {
  const majors = [...SUPPORTED_NODE_MAJORS].sort((a, b) => a - b);
  return majors.length === 1 ? String(majors[0]) : `${majors.slice(0, -1).join(', ')} or ${majors.at(-1)}`;
}
