/**
 * Where the human writes: a text box that sends as the human into the open conversation (or
 * to a partner, for a first message), or, in two agents' direct conversation where nobody else
 * can write, buttons to message either of them.
 */
import type { ConsoleConversation } from '../../src/shared/console-protocol.ts';
import { api } from './api.ts';
import { h } from './dom.ts';
import { directPair } from './format.ts';

export type ComposerTarget = { conversation: ConsoleConversation } | { newTo: string };

export interface ComposerHost {
  me: string;
  sent(conversationId: string): void;
  message(partnerId: string): void;
  error(error: unknown): void;
}

export function composer(host: ComposerHost, target: ComposerTarget): HTMLElement[] {
  const pair = 'conversation' in target ? directPair(target.conversation.id) : undefined;
  if (pair && !pair.includes(host.me)) {
    return [
      h('p', {
        class: 'hint',
        text: `Only ${pair[0]} and ${pair[1]} can write in their direct conversation. Message one of them:`,
      }),
      ...pair.map((id) =>
        h('button', { type: 'button', class: 'small', text: `Message ${id}`, onclick: () => host.message(id) }),
      ),
    ];
  }
  const joins = 'conversation' in target && target.conversation.unread === null;
  const text = h('textarea', {
    rows: 3,
    placeholder: joins
      ? 'Write as yourself; sending adds you to this group (Ctrl+Enter sends)'
      : 'Write as yourself… (Ctrl+Enter sends)',
    ariaLabel: 'Message',
  });
  const send = h('button', { type: 'submit', text: 'Send' });
  // Sending the same text again after an error reuses its id: the broker does not store it twice.
  let clientMsgId: string | undefined;
  text.addEventListener('input', () => (clientMsgId = undefined));
  const submit = () => {
    const content = text.value;
    if (content.trim() === '') return;
    const where = 'conversation' in target ? { conversationId: target.conversation.id } : { to: target.newTo };
    send.disabled = true;
    api<{ conversationId: string }>('POST', '/console/api/talk', {
      ...where,
      content,
      clientMsgId: (clientMsgId ??= `console-${crypto.randomUUID()}`),
    })
      .then((reply) => {
        text.value = '';
        clientMsgId = undefined;
        host.sent(reply.conversationId);
      })
      .catch((error: unknown) => host.error(error))
      .finally(() => (send.disabled = false));
  };
  text.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
    }
  });
  const form = h(
    'form',
    {
      class: 'compose',
      onsubmit: (event) => {
        event.preventDefault();
        submit();
      },
    },
    text,
    send,
  );
  return [form];
}
