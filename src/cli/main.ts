#!/usr/bin/env node
/**
 * `duo`: one command line for the broker, the partner and the humans watching them. This file
 * only dispatches; each command lives in commands/<name>.ts and is loaded on demand, so a hook
 * does not pay for loading the broker, nor the broker for the MCP SDK.
 */
import { enableCompileCache } from 'node:module';
import type { CliContext, Command } from './command.ts';
import { exitWhenDone, processContext } from './process-context.ts';

interface Entry {
  summary: string;
  load: () => Promise<{ command: Command }>;
  /** Talks to the broker as a partner: a broker is started first when none answers (loopback only). */
  needsBroker?: true;
}

const commands: Record<string, Entry> = {
  broker: {
    summary: 'Run the broker (--port, --host, --db, --token, --tls-cert/--tls-key); broker status, broker stop',
    load: () => import('./commands/broker.ts'),
  },
  partner: { summary: 'Run the MCP server Claude Code spawns (stdio)', load: () => import('./commands/partner.ts') },
  install: {
    summary: 'Add the partner and its hooks to Claude Code',
    load: () => import('./commands/install.ts'),
  },
  uninstall: {
    summary: 'Remove the partner and its hooks from Claude Code',
    load: () => import('./commands/uninstall.ts'),
  },
  doctor: {
    summary: 'Check broker, identity, versions and Claude Code setup; say what to fix',
    load: () => import('./commands/doctor.ts'),
  },
  register: {
    summary: 'Register a partner id and keep its secret in your secrets file',
    load: () => import('./commands/register.ts'),
    needsBroker: true,
  },
  send: {
    summary: 'Send a message: duo send <partner|conversation> <text>',
    load: () => import('./commands/send.ts'),
    needsBroker: true,
  },
  tail: {
    summary: 'Watch your conversations live (reads only, never marks read)',
    load: () => import('./commands/tail.ts'),
    needsBroker: true,
  },
  who: {
    summary: 'List partners: online, status, last seen',
    load: () => import('./commands/who.ts'),
    needsBroker: true,
  },
  history: {
    summary: 'Show the messages of a conversation',
    load: () => import('./commands/history.ts'),
    needsBroker: true,
  },
  web: {
    summary: 'Open the web console: prints a one-time login URL (--open)',
    load: () => import('./commands/web.ts'),
    needsBroker: true,
  },
  resume: {
    summary: 'Resume a conversation the loop guard holds: duo resume <conversation>',
    load: () => import('./commands/resume.ts'),
    needsBroker: true,
  },
  token: {
    summary: 'Print the owner token (for curl and scripts; --rotate replaces it)',
    load: () => import('./commands/token.ts'),
  },
  hook: {
    summary: 'Claude Code hooks: session-start, session-end, wait, post-tool-use, user-prompt-submit',
    load: () => import('./commands/hook.ts'),
  },
  demo: { summary: 'Start a throwaway broker and two partners that talk', load: () => import('./commands/demo.ts') },
};

const width = Math.max(...Object.keys(commands).map((name) => name.length));
const USAGE = `Usage: duo <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`)
  .join('\n')}

Run "duo <command> --help" for a command's options.`;

async function main(argv: string[], ctx: CliContext): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ctx.out(`${USAGE}\n`);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    const { VERSION } = await import('../shared/version.ts');
    ctx.out(`${VERSION}\n`);
    return 0;
  }
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!entry) {
    ctx.err(`duo: unknown command "${name}".\n\n${USAGE}\n`);
    return 2;
  }
  // Node keeps the compiled code of what loads next on disk: a second start of the same command
  // compiles nothing.
  enableCompileCache();
  const { command } = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.out(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest, entry.needsBroker ? { ...ctx, ensureBroker: (url) => startBroker(ctx, url) } : ctx);
  } catch (error) {
    // Loaded only here: this file imports nothing of its own, so a hook starts with one file read.
    const [{ UsageError }, { DuoError }] = await Promise.all([import('./command.ts'), import('../shared/errors.ts')]);
    if (error instanceof UsageError) {
      ctx.err(`duo ${name}: ${error.message}\n\n${command.help}\n`);
      return 2;
    }
    if (error instanceof DuoError) {
      ctx.err(`duo ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** Starts a broker for `brokerUrl` when none answers (and autostart is on), and says so. */
async function startBroker(ctx: CliContext, brokerUrl: string): Promise<void> {
  const [{ ensureBroker }, { brokerLogPath }] = await Promise.all([
    import('../client/autostart.ts'),
    import('../shared/paths.ts'),
  ]);
  if ((await ensureBroker(brokerUrl, { env: ctx.env })) === 'started')
    ctx.err(`duo: started a broker at ${brokerUrl} (log: ${brokerLogPath(ctx.env)}; duo broker stop stops it).\n`);
}

exitWhenDone(main(process.argv.slice(2), processContext()));
