/**
 * `duo doctor`: checks what has to be true for Claude Duo to work and says, for each problem,
 * what to do. ✗ is broken (non-zero exit), ! works but deserves a look, ✓ is fine.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { describeError, DuoError } from '../../shared/errors.ts';
import type { HealthReply } from '../../shared/protocol.ts';
import { VERSION } from '../../shared/version.ts';
import { nodeMajor, SUPPORTED_NODE_MAJORS, supportedNodeText } from '../../shared/node-version.ts';
import type { z } from 'zod';
import { parse, type Command } from '../command.ts';
import { findClaude } from '../claude-code.ts';
import {
  partnerEnv,
  readClaudeSetup,
  reportClaudeSetup,
  reportClaudeVersion,
  reportHooks,
  type Level,
} from '../doctor-claude.ts';
import { brokerClient } from '../acting.ts';
import { candidatePartnerIds, cliSetup, noSecretFix, type CliSetup } from '../identity.ts';
import { CHANNELS_LAUNCH } from './install.ts';
import { autostarts } from '../../client/autostart.ts';
import { splitBrokerUrls } from '../../client/endpoint.ts';

const MARK: Record<Level, string> = { ok: '✓', warn: '!', fail: '✗' };

export const command: Command = {
  name: 'doctor',
  summary: 'Check the setup and say what to fix',
  help: `Usage: duo doctor [--as ID] [--broker URL]

Checks, for this project: which duo server Claude Code really runs (claude mcp get duo, else
~/.claude.json and .mcp.json with Claude Code's precedence: local, project, user) and whether it
waits for approval; the broker that server uses answers (/health) and runs the same version; the
partner's secret is stored and the broker accepts it; each duo hook is installed (SessionStart,
SessionEnd, Stop, PostToolUse, UserPromptSubmit); the installed Claude Code can wake an idle
session (claude --version); running sessions have channels or the hooks; Node.js is a version
Claude Duo is tested on. Says what to fix; exits 1 when something is broken.`,
  async run(args, ctx) {
    const { values } = parse(args, { as: { type: 'string' }, broker: { type: 'string' } }, false);
    const results: Level[] = [];
    const report = (level: Level, text: string, fix?: string) => {
      results.push(level);
      ctx.out(`${MARK[level]} ${text}\n${fix ? `  → ${fix}\n` : ''}`);
    };

    // The server entry Claude Code really runs says which broker and id its partner uses.
    const claude = findClaude(ctx.env);
    const claudeSetup = readClaudeSetup(ctx.env, cliSetup(ctx).config.projectDir, claude);
    const env = partnerEnv(ctx.env, claudeSetup);
    const setup = cliSetup({ ...ctx, env }, { broker: values.broker });
    const { config } = setup;
    ctx.out(`Claude Duo ${VERSION} — broker ${config.brokerUrl}, project ${config.projectDir}\n\n`);
    reportNode(process.versions.node, report);

    // Broker and version: each broker of the list (a team may run several).
    const urls = splitBrokerUrls(config.brokerUrl);
    let health: z.infer<typeof HealthReply> | undefined;
    for (const url of urls) {
      let answer: z.infer<typeof HealthReply>;
      try {
        answer = await brokerClient({ ...setup, config: { ...config, brokerUrl: url } }, 2_000).health();
      } catch (error) {
        // A loopback broker that is not running yet is normal: the first partner starts it.
        if (error instanceof DuoError && error.code === 'unavailable' && autostarts(url, env)) {
          report('ok', `No broker yet at ${url}; the first partner starts one (or \`duo broker\`).`);
          continue;
        }
        // The sentence already says what to do (start the broker, or check BROKER_URL). With
        // others in the list, one that is down is worth a look, not a failure.
        report(urls.length > 1 ? 'warn' : 'fail', describeError(error));
        continue;
      }
      health ??= answer;
      report('ok', `The broker answers at ${url} (version ${answer.version}, up ${answer.uptimeSeconds} s).`);
      if (answer.version !== VERSION) {
        const major = (v: string) => v.split('.')[0];
        report(
          major(answer.version) === major(VERSION) ? 'warn' : 'fail',
          `The broker at ${url} runs version ${answer.version}, this duo is ${VERSION}.`,
          'Restart the broker from the same checkout as the partner (`duo broker`) so both speak the same protocol.',
        );
      }
    }
    if (health === undefined && urls.length > 1)
      report('fail', `None of the ${urls.length} brokers of BROKER_URL answers.`, 'Start at least one of them.');

    // Secrets file and identity.
    await checkIdentity(setup, values.as, health !== undefined, report);

    // Claude Code: the MCP server.
    reportClaudeSetup(claudeSetup, config.brokerUrl, report);
    if (!claude) report('warn', 'The claude command is not on PATH (fine if you start Claude Code some other way).');
    else reportClaudeVersion(claude, ctx.env, report);

    // Claude Code: the hooks, which bring messages to the model with or without channels.
    const delivering = reportHooks(ctx.env, config.projectDir, report);

    // Without those hooks, channels are what brings messages as they arrive.
    if (!delivering) reportChannels(report);

    const failures = results.filter((r) => r === 'fail').length;
    const warnings = results.filter((r) => r === 'warn').length;
    ctx.out(
      `\n${failures === 0 ? 'Everything needed works' : `${failures} problem${failures === 1 ? '' : 's'} to fix`}${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}.\n`,
    );
    return failures === 0 ? 0 : 1;
  },
};

/** The partner and the hooks run on the `node` Claude Code finds: usually the one running this. */
export function reportNode(version: string, report: (level: Level, text: string, fix?: string) => void): void {
  if (SUPPORTED_NODE_MAJORS.includes(nodeMajor(version))) report('ok', `Node.js ${version} is supported.`);
  else
    report(
      'warn',
      `Node.js ${version} runs duo here; Claude Duo is tested on Node ${supportedNodeText()}.`,
      `Install Node ${supportedNodeText()} (LTS) and make it the node on your PATH.`,
    );
}

async function checkIdentity(
  setup: CliSetup,
  as: string | undefined,
  brokerUp: boolean,
  report: (level: Level, text: string, fix?: string) => void,
): Promise<void> {
  const { config, store } = setup;
  let mode: number | undefined;
  try {
    mode = statSync(store.filePath).mode & 0o777;
  } catch {
    // no file yet
  }
  if (mode !== undefined && (mode & 0o077) !== 0) {
    report(
      'warn',
      `The secrets file ${store.filePath} is readable by others (mode ${mode.toString(8)}).`,
      `chmod 600 ${store.filePath}`,
    );
  }
  let ids: string[];
  let secret: string | undefined;
  let partnerId: string;
  try {
    ids = candidatePartnerIds(setup, as);
    partnerId = ids.find((id) => store.getSecret(config.brokerUrl, id) !== undefined) ?? ids[0]!;
    secret = store.getSecret(config.brokerUrl, partnerId);
  } catch (error) {
    report(
      'fail',
      describeError(error),
      'Fix or delete the secrets file; the partner registers again (a lost secret means a new id).',
    );
    return;
  }
  if (secret === undefined) {
    report(
      'fail',
      `No secret stored for partner "${partnerId}" on ${config.brokerUrl} (in ${store.filePath}).`,
      `${noSecretFix(partnerId, as !== undefined)}.`,
    );
    return;
  }
  if (!brokerUp) {
    report(
      'ok',
      `A secret for partner "${partnerId}" is stored in ${store.filePath} (not checked: the broker is down).`,
    );
    return;
  }
  const client = brokerClient(setup, 2_000, { partnerId, secret });
  try {
    const { partners } = await client.partners();
    const me = partners.find((p) => p.id === partnerId);
    report(
      'ok',
      `The broker accepts the stored secret of "${partnerId}"${me ? ` (${me.online ? 'online now' : 'offline now'})` : ''}.`,
    );
  } catch (error) {
    if (error instanceof DuoError && error.code === 'unauthorized') {
      report(
        'fail',
        `The broker does not accept the stored secret of "${partnerId}" (its database was reset or replaced?).`,
        `Start Claude Code in this project: the partner registers again (under a hashed fallback id if "${partnerId}" belongs to someone else now). Or run duo register.`,
      );
    } else {
      report('fail', `Could not check the secret of "${partnerId}": ${describeError(error)}`);
    }
  }
}

/**
 * Whether running Claude Code sessions were started with channels: a live process started with
 * the flag is the best evidence there is. Only asked when the hooks do not deliver.
 */
function reportChannels(report: (level: Level, text: string, fix?: string) => void): void {
  const sessions = claudeProcesses();
  if (sessions === undefined) {
    report(
      'warn',
      `Cannot tell whether channels are on: without the hooks, start Claude Code with \`${CHANNELS_LAUNCH}\` so messages reach the model as they arrive.`,
    );
  } else if (sessions.length === 0) {
    report(
      'ok',
      `No Claude Code session is running now; without the hooks, start one with \`${CHANNELS_LAUNCH}\` for live messages.`,
    );
  } else {
    const withChannels = sessions.filter((args) =>
      /--dangerously-load-development-channels(\s+|=)\S*server:duo/.test(args),
    ).length;
    if (withChannels === sessions.length)
      report('ok', `Channels are on in ${withChannels} running Claude Code session${withChannels === 1 ? '' : 's'}.`);
    else
      report(
        'warn',
        `${sessions.length - withChannels} of ${sessions.length} running Claude Code sessions started without channels or the duo hooks: their agents see messages only when they call listen or talk.`,
        `Run \`duo install\` (its hooks deliver without channels), or start them with \`${CHANNELS_LAUNCH}\`.`,
      );
  }
}

/** Command lines of running `claude` processes, or undefined when ps cannot be used. */
function claudeProcesses(): string[] | undefined {
  let text: string;
  try {
    text = execFileSync('ps', ['-eo', 'args='], {
      encoding: 'utf8',
      timeout: 2_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
  return text.split('\n').filter(isClaudeProcess);
}

/** `claude …`, or a runtime running the claude script (`node …/claude …`, `node …/claude-code/cli.js …`). */
export function isClaudeProcess(line: string): boolean {
  const [exec = '', script = ''] = line.trim().split(/\s+/);
  const base = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  if (base(exec) === 'claude') return true;
  return /^(node|bun|deno)$/.test(base(exec)) && (base(script) === 'claude' || /claude-code\/cli\.m?js$/.test(script));
}
