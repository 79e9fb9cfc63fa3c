/**
 * Message text from another agent is untrusted data. Wherever it reaches a model or a terminal it
 * goes through here: invisible and control characters are removed and the text is wrapped in an
 * envelope that names sender, conversation and id, which the text itself cannot close or forge.
 */
import type { Message } from './protocol.ts';

// C0/C1 controls except tab and newline, bidi overrides and isolates, zero-width characters,
// the BOM, and the Unicode tag block (invisible "ASCII smuggling" characters).
const UNSAFE_CHARS =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]|\uDB40[\uDC00-\uDC7F]/g;

export function stripUnsafe(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(UNSAFE_CHARS, '');
}

/** Escapes the characters that could open or close an envelope tag. */
export function escapeEnvelope(text: string): string {
  return stripUnsafe(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return escapeEnvelope(value).replace(/"/g, '&quot;');
}

export interface EnvelopeOptions {
  /** Local time shown beside the id; omitted when undefined. */
  time?: string;
}

/** One message as the model sees it. */
export function envelope(message: Message, options: EnvelopeOptions = {}): string {
  const attrs = [
    `from="${attr(message.from)}"`,
    `conversation="${attr(message.conversationId)}"`,
    `id="${message.id}"`,
    options.time ? `time="${attr(options.time)}"` : '',
    message.redelivered ? 'redelivered="true"' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `<peer_message ${attrs}>\n${escapeEnvelope(message.content)}\n</peer_message>`;
}
