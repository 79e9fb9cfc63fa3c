/**
 * A stand-in `claude` executable for CLI tests: records every invocation, and keeps `mcp add-json`, `mcp add`,
 * `mcp remove` and `mcp get` honest by writing and reading ~/.claude.json (user scope) or
 * .mcp.json (project scope) the way Claude Code does. `--version` says FAKE_CLAUDE_VERSION
 * (default: a version that wakes idle sessions).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const script = `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_CLAUDE_LOG, JSON.stringify(args) + '\\n');
const read = (file) => { try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return {}; } };
if (args[0] === 'mcp' && args[1] === 'add-json') {
  const scope = args[args.indexOf('-s') + 1];
  const file = scope === 'project' ? path.join(process.cwd(), '.mcp.json') : path.join(process.env.HOME, '.claude.json');
  const json = read(file);
  json.mcpServers = { ...json.mcpServers, [args[2]]: JSON.parse(args[3]) };
  fs.writeFileSync(file, JSON.stringify(json, null, 2));
  console.log('Added stdio MCP server ' + args[2]);
} else if (args[0] === 'mcp' && args[1] === 'add') {
  const name = args[2];
  const scope = args[args.indexOf('-s') + 1];
  const env = {};
  args.forEach((a, i) => { if (a === '-e') { const [k, ...v] = args[i + 1].split('='); env[k] = v.join('='); } });
  const [command, ...rest] = args.slice(args.indexOf('--') + 1);
  const file = scope === 'project' ? path.join(process.cwd(), '.mcp.json') : path.join(process.env.HOME, '.claude.json');
  const json = read(file);
  json.mcpServers = { ...json.mcpServers, [name]: { type: 'stdio', command, args: rest, env } };
  fs.writeFileSync(file, JSON.stringify(json, null, 2));
  console.log('Added stdio MCP server ' + name);
} else if (args[0] === 'mcp' && args[1] === 'remove') {
  const name = args[2];
  const scope = args[args.indexOf('-s') + 1];
  const file = scope === 'project' ? path.join(process.cwd(), '.mcp.json') : path.join(process.env.HOME, '.claude.json');
  const json = read(file);
  if (!json.mcpServers?.[name]) { console.error('No MCP server found with name: ' + name); process.exit(1); }
  delete json.mcpServers[name];
  fs.writeFileSync(file, JSON.stringify(json, null, 2));
  console.log('Removed MCP server ' + name);
} else if (args[0] === '--version') {
  console.log((process.env.FAKE_CLAUDE_VERSION || '2.1.332') + ' (Claude Code)');
} else if (args[0] === 'mcp' && args[1] === 'get') {
  const found = [path.join(process.env.HOME, '.claude.json'), path.join(process.cwd(), '.mcp.json')].some((file) => read(file).mcpServers?.[args[2]]);
  process.exit(found ? 0 : 1);
}
`;

/** Writes the fake into `dir` and returns the directory (to put on PATH) and its log file. */
export function installFakeClaude(dir: string): { binDir: string; log: string } {
  const binDir = join(dir, 'fake-bin');
  mkdirSync(binDir, { recursive: true });
  const file = join(binDir, 'claude');
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return { binDir, log: join(dir, 'fake-claude.log') };
}
