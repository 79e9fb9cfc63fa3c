/**
 * The JSON Claude Code writes to a hook's stdin (`session_id`, `cwd`, `tool_name`, …), read with a
 * deadline (Claude Code does not always close stdin) and a size bound (a PostToolUse input carries
 * the whole tool result).
 *
 * Only the fields the hooks use are kept, each a string of bounded length or absent; anything else
 * is dropped, so a forged or damaged input can only name another session or folder. The check is
 * written by hand rather than with zod: PostToolUse runs after every tool call, and loading zod
 * would cost more than the rest of its fast path.
 */
import type { CliContext } from '../command.ts';

export interface HookInput {
  session_id?: string;
  cwd?: string;
  hook_event_name?: string;
  /** SessionStart: startup, resume, clear, compact. */
  source?: string;
  /** SessionEnd: clear, logout, prompt_input_exit, other. */
  reason?: string;
  /** PostToolUse: e.g. `Bash`, `mcp__duo__talk`. */
  tool_name?: string;
}

const FIELDS = ['session_id', 'cwd', 'hook_event_name', 'source', 'reason', 'tool_name'] as const;
/** Longer than any path or id Claude Code sends. */
const MAX_FIELD_CHARS = 4096;
/** Past this the input is not parsed whole; the leading fields are read from its start. */
export const MAX_HOOK_INPUT_BYTES = 8 * 1024 * 1024;
/** Claude Code writes the small fields first; this much of a huge input is searched for them. */
const SALVAGE_CHARS = 64 * 1024;

/** The hook input from stdin: `{}` when there is none, it is not a JSON object, or it does not come in time. */
export async function readHookInput(stdin: CliContext['stdin'], deadlineMs: number): Promise<HookInput> {
  if (stdin.isTTY) return {};
  const chunks: Buffer[] = [];
  let bytes = 0;
  const input = await new Promise<HookInput>((resolve) => {
    const finish = (result?: HookInput) => {
      clearTimeout(timer);
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      resolve(result ?? parseHookInput(Buffer.concat(chunks).toString('utf8')));
    };
    const onEnd = () => finish();
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buffer.length;
      if (bytes > MAX_HOOK_INPUT_BYTES) {
        finish(salvage(Buffer.concat(chunks).toString('utf8')));
        return;
      }
      chunks.push(buffer);
      // Parsing is tried only when the text may be complete, not after every chunk of a large input.
      if (buffer.at(-1) === 0x7d /* } */ || buffer.at(-2) === 0x7d) {
        const parsed = tryParse(Buffer.concat(chunks).toString('utf8'));
        if (parsed) finish(parsed);
      }
    };
    const timer = setTimeout(onEnd, deadlineMs);
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onEnd);
  });
  // Let the process exit even though stdin may still be open.
  (stdin as NodeJS.ReadStream).pause?.();
  (stdin as NodeJS.ReadStream & { unref?: () => void }).unref?.();
  return input;
}

/** The known fields of a hook input text; `{}` when it is not a JSON object. */
export function parseHookInput(text: string): HookInput {
  return tryParse(text) ?? {};
}

function tryParse(text: string): HookInput | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const input: HookInput = {};
  for (const field of FIELDS) {
    const value = (json as Record<string, unknown>)[field];
    if (typeof value === 'string' && value.length <= MAX_FIELD_CHARS) input[field] = value;
  }
  return input;
}

/**
 * The leading string fields of an input too large to parse. The first match of each top-level
 * key wins: Claude Code writes them before the tool's input and result, and a key inside a
 * string value cannot match because its quotes are escaped there.
 */
function salvage(text: string): HookInput {
  const head = text.slice(0, SALVAGE_CHARS);
  const input: HookInput = {};
  for (const field of FIELDS) {
    const match = new RegExp(`"${field}"\\s*:\\s*("(?:[^"\\\\]|\\\\.){0,${MAX_FIELD_CHARS}}")`).exec(head);
    if (!match) continue;
    try {
      const value: unknown = JSON.parse(match[1]!);
      if (typeof value === 'string') input[field] = value;
    } catch {
      // not a complete string
    }
  }
  return input;
}
