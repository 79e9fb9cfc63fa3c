/**
 * What every tool shares: how it is defined (name, description, arguments, body), the result
 * shape, the unread footer, and the one mapping from errors to MCP tool errors whose text tells
 * the model what to do next.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { describeError, DuoError } from '../../shared/errors.ts';
import { unreadFooter } from '../format.ts';
import type { Partner } from '../partner.ts';
import { toolArguments } from './arguments.ts';

/** The tool `_meta` key Claude Code reads to keep a tool out of its deferred tool search. */
export const ALWAYS_LOAD = 'anthropic/alwaysLoad';

export type ToolRegistrar = (server: McpServer, partner: Partner) => void;
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ToolDefinition<S extends z.ZodRawShape> {
  name: string;
  description: string;
  /** The arguments; each field's description says what it takes (it is quoted when one is wrong). */
  args: S;
  /**
   * Offered to the model with its schema from the first request, never deferred behind Claude
   * Code's tool search (where a model that sees only a name reaches for a built-in instead).
   */
  alwaysLoad?: boolean;
  run(partner: Partner, args: z.infer<z.ZodObject<S>>, extra: ToolExtra): Promise<CallToolResult>;
}

/** A tool whose arguments are checked with a sentence the model can act on, and whose failures are tool errors. */
export function defineTool<S extends z.ZodRawShape>(definition: ToolDefinition<S>): ToolRegistrar {
  return (server, partner) => {
    const args = toolArguments(definition.name, definition.args);
    server.registerTool(
      definition.name,
      {
        description: definition.description,
        inputSchema: args.advertised,
        ...(definition.alwaysLoad ? { _meta: { [ALWAYS_LOAD]: true } } : {}),
      },
      (raw: unknown, extra: ToolExtra) => run(() => definition.run(partner, args.parse(raw), extra)),
    );
  };
}

export function footer(partner: Partner): string {
  return unreadFooter(partner.held(), partner.identity?.partnerId, partner.inboxSaturated);
}

export function ok(partner: Partner, text: string, withFooter = true): CallToolResult {
  const line = withFooter ? footer(partner) : '';
  return { content: [{ type: 'text', text: line ? `${text}\n\n${line}` : text }] };
}

/** A tool error whose text says what went wrong and what the model should do next. */
export function fail(error: unknown): CallToolResult {
  const text =
    error instanceof DuoError
      ? describeError(error)
      : `Unexpected failure in the Duo partner (${describeError(error)}) Try again; if it persists, tell the user.`;
  return { content: [{ type: 'text', text }], isError: true };
}

/** Runs a tool body; any failure becomes a tool error instead of a protocol error. */
export async function run(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (error) {
    return fail(error);
  }
}

/** Runs `wait` while sending an MCP progress notification every interval, if the client asked for them. */
export async function withProgress<T>(
  partner: Partner,
  seconds: number,
  extra: ToolExtra,
  what: string,
  wait: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const progressToken = extra._meta?.progressToken;
  const started = Date.now();
  const progress = setInterval(() => {
    if (progressToken === undefined) return;
    const elapsed = Math.round((Date.now() - started) / 1000);
    extra
      .sendNotification({
        method: 'notifications/progress',
        params: {
          progressToken,
          progress: elapsed,
          total: seconds,
          message: `${what} (${elapsed}/${seconds} s)`,
        },
      })
      .catch(() => undefined);
  }, partner.config.progressIntervalMs);
  try {
    return await wait(extra.signal);
  } finally {
    clearInterval(progress);
  }
}
