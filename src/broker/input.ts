/**
 * Input at the broker's edge: validated with the shared schemas, and the old `direct_<a>_<b>`
 * conversation id still understood. That old form cannot be read on its own (partner ids may
 * contain `_`), only from the side of the caller, so it is turned into `direct:<a>:<b>` here,
 * where the caller's identity is known, before the schemas see it.
 */
import type { ZodType } from 'zod';
import { DuoError } from '../shared/errors.ts';
import { seedDirectConversationId } from '../shared/ids.ts';
import { describeIssues } from '../shared/protocol.ts';

/** Validates input; a failure is a 400 that names the field and the problem. */
export function parseInput<T>(schema: ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new DuoError('bad_request', `Invalid ${what}: ${describeIssues(result.error)}.`);
  return result.data;
}

/** `value` with an old-form direct id of `me`'s rewritten; anything else unchanged. */
export function acceptOldDirectId(value: unknown, me: string): unknown {
  if (typeof value !== 'string') return value;
  return seedDirectConversationId(value, me) ?? value;
}

/** `input` (a body, query or frame) with an old-form `conversationId` of `me`'s rewritten. */
export function acceptOldDirectIdIn(input: unknown, me: string): unknown {
  if (typeof input !== 'object' || input === null || !('conversationId' in input)) return input;
  const current = acceptOldDirectId(input.conversationId, me);
  return current === input.conversationId ? input : { ...input, conversationId: current };
}
