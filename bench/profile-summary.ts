/**
 * Summarises a V8 CPU profile (from `npm run bench -- --cpu-prof DIR`): self time by function and
 * by file, so the broker's owner can see where a missed goal's time goes without opening DevTools.
 * Run: node --import tsx bench/profile-summary.ts FILE.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [top]');
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const totalUs = profile.endTime - profile.startTime;

const shortUrl = (url: string) =>
  url === ''
    ? '(native)'
    : url
        .replace(/^file:\/\/.*?\/node_modules\//, 'npm:')
        .replace(/^file:\/\/.*?\/src\//, 'src/')
        .replace(/^node:/, 'node:');
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);

const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const functionKey = (node: ProfileNode) =>
  `${node.callFrame.functionName || '(anonymous)'}  ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  const where = shortUrl(node.callFrame.url);
  add(byFunction, functionKey(node), us);
  add(
    byFile,
    where.startsWith('npm:')
      ? where
          .split('/')
          .slice(0, where.startsWith('npm:@') ? 2 : 1)
          .join('/')
      : where,
    us,
  );
}

// Inclusive ("total") time: each function counted once per sample it appears in.
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const key = functionKey(byId.get(at)!);
    if (!seen.has(key)) {
      seen.add(key);
      add(inclusive, key, us);
    }
  }
}

const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((us / totalUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
  }
};
console.log(`profile ${file}: ${(totalUs / 1e6).toFixed(1)} s wall`);
print('self time by package / file', byFile);
print('self time by function', byFunction);
print('total time by function (self + callees)', inclusive);
