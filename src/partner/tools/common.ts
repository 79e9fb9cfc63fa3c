/**
 * What every tool shares: how it is defined (name, description, arguments, body), the result
 * shape, the unread footer, and the one mapping from errors to MCP tool errors whose text tells
 * the model what to do next.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { DuoError, type ErrorCode } from '../../shared/errors.ts';
import { unreadFooter } from '../format.ts';
import type { Partner } from '../partner.ts';
import { toolArguments } from './arguments.ts';

export type ToolRegistrar = (server: McpServer, partner: Partner) => void;
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ToolDefinition<S extends z.ZodRawShape> {
  name: string;
  description: string;
  /** The arguments; each field's description says what it takes (it is quoted when one is wrong). */
  args: S;
  run(partner: Partner, args: z.infer<z.ZodObject<S>>, extra: ToolExtra): Promise<CallToolResult>;
}

/** A tool whose arguments are checked with a sentence the model can act on, and whose failures are tool errors. */
export function defineTool<S extends z.ZodRawShape>(definition: ToolDefinition<S>): ToolRegistrar {
  return (server, partner) => {
    const args = toolArguments(definition.name, definition.args);
    server.registerTool(
      definition.name,
      { description: definition.description, inputSchema: args.advertised },
      (raw: unknown, extra: ToolExtra) => run(() => definition.run(partner, args.parse(raw), extra)),
    );
  };
}

const nextStep: Partial<Record<ErrorCode, string>> = {
  bad_request: 'Check the arguments against the tool description and try again.',
  unauthorized: 'Call register to register this partner again.',
  forbidden: 'Call list_conversations to see what you can use.',
  not_member: 'Call list_conversations to see the conversations you belong to.',
  not_found: 'Call list_conversations or list_partners to see valid ids.',
  unknown_partner: 'Call list_partners to see the ids you can talk to.',
  unknown_conversation: 'Call list_conversations to see your conversations.',
  payload_too_large: 'Split the message into smaller parts.',
  rate_limited: 'Wait a few seconds, then try again.',
  storage_busy: 'Try again in a few seconds.',
  storage_full: 'The broker cannot store more messages; tell the user its disk is full.',
  unavailable: 'Try again in a few seconds.',
  internal: 'Try again; if it keeps failing, tell the user the Duo broker reported an internal error.',
};

/** The message of an error, plus a next step when the sentence does not already give one. */
export function describeError(error: unknown): string {
  if (!(error instanceof DuoError)) {
    return `Unexpected failure in the Duo partner (${error instanceof Error ? error.message : String(error)}). Try again; if it persists, tell the user.`;
  }
  let text = error.message.trim();
  if (!/[.!?]$/.test(text)) text += '.';
  const hint = error.retryAfter ? `Wait ${error.retryAfter} s, then try again.` : nextStep[error.code];
  const hasNextStep = /\b(call|try again|start it|set |restart|keep using|use one|use an id)\b/i.test(text);
  return hint && !hasNextStep ? `${text} ${hint}` : text;
}

export function footer(partner: Partner): string {
  return unreadFooter(partner.unreadMessages(), partner.identity?.partnerId, partner.inboxSaturated);
}

export function ok(partner: Partner, text: string, withFooter = true): CallToolResult {
  const line = withFooter ? footer(partner) : '';
  return { content: [{ type: 'text', text: line ? `${text}\n\n${line}` : text }] };
}

export function fail(error: unknown): CallToolResult {
  return { content: [{ type: 'text', text: describeError(error) }], isError: true };
}

/** Runs a tool body; any failure becomes a tool error instead of a protocol error. */
export async function run(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (error) {
    return fail(error);
  }
}
