/**
 * listen: answers at once from the inbox, otherwise waits for a message or the timeout while
 * sending progress notifications so the client does not give up. Messages are removed and
 * acknowledged only when the result is about to be returned: a cancelled listen consumes nothing.
 */
import { z } from 'zod';
import { DuoError } from '../../shared/errors.ts';
import { formatMessages } from '../format.ts';
import type { PartnerStatus } from '../partner.ts';
import { resolveConversation } from '../resolve.ts';
import { footer, ok, run, type ToolRegistrar } from './common.ts';

export const LISTEN_DEFAULT_SECONDS = 30;
export const LISTEN_MAX_SECONDS = 3600;
/** At most this many messages per call, so one result stays readable. */
export const LISTEN_BATCH = 50;

type WaitEnd = 'message' | 'timeout' | 'cancelled' | 'disconnected' | 'dormant';

export const listenTool: ToolRegistrar = (server, partner) => {
  server.registerTool(
    'listen',
    {
      description: `Wait for messages from other partners and mark them read. Returns at once if messages are waiting, otherwise waits up to \`timeout\` SECONDS (default ${LISTEN_DEFAULT_SECONDS}, 0 = just check, max ${LISTEN_MAX_SECONDS} = 60 min). Optionally only for one conversation.`,
      inputSchema: {
        conversation: z
          .string()
          .min(1)
          .optional()
          .describe('Only messages of this conversation id (e.g. "direct:alice:bob", "group_…").'),
        timeout: z
          .number()
          .min(0)
          .optional()
          .describe(`Seconds to wait (default ${LISTEN_DEFAULT_SECONDS}, max ${LISTEN_MAX_SECONDS}).`),
      },
    },
    (args, extra) =>
      run(async () => {
        const me = (await partner.requireIdentity()).partnerId;
        const conversationId = args.conversation === undefined ? undefined : resolveConversation(args.conversation, me);
        const filter = conversationId === undefined ? {} : { conversationId };
        const seconds = Math.min(args.timeout ?? LISTEN_DEFAULT_SECONDS, LISTEN_MAX_SECONDS);

        if (!partner.inbox.has(filter)) {
          await partner.requireConnected();
          const end = await waitForMessage(
            filter,
            seconds,
            extra.signal,
            extra._meta?.progressToken,
            extra.sendNotification,
          );
          if (end === 'cancelled') return { content: [] };
          if (end === 'dormant') throw partner.dormantError();
          if (end === 'disconnected') {
            throw new DuoError(
              'unavailable',
              `Lost the connection to the Duo broker at ${partner.config.brokerUrl} while listening; nothing was consumed. Call listen again in a few seconds (start the broker with \`duo broker\` if it is down).`,
            );
          }
          if (end === 'timeout') {
            const where = conversationId === undefined ? '' : ` in ${conversationId}`;
            return ok(partner, `No new messages${where} within ${seconds} s. Call listen again to keep waiting.`);
          }
        }

        const messages = partner.consume(conversationId, LISTEN_BATCH);
        const more = partner.inbox.peek(filter).length;
        const text = [
          formatMessages(messages, (m) => partner.wasAnswered(m)),
          more > 0 ? `(${more} more waiting — call listen again)` : '',
        ]
          .filter(Boolean)
          .join('\n\n');
        const line = footer(partner);
        return { content: [{ type: 'text', text: line && more === 0 ? `${text}\n\n${line}` : text }] };
      }),
  );

  function waitForMessage(
    filter: { conversationId?: string },
    seconds: number,
    requestSignal: AbortSignal,
    progressToken: string | number | undefined,
    send: (notification: {
      method: 'notifications/progress';
      params: { progressToken: string | number; progress: number; total: number; message: string };
    }) => Promise<void>,
  ): Promise<WaitEnd> {
    return new Promise<WaitEnd>((resolve) => {
      const waiting = new AbortController();
      const started = Date.now();
      let graceTimer: NodeJS.Timeout | undefined;
      const finish = (end: WaitEnd) => {
        waiting.abort();
        clearTimeout(timer);
        clearTimeout(graceTimer);
        clearInterval(progress);
        requestSignal.removeEventListener('abort', onAbort);
        partner.off('status', onStatus);
        resolve(end);
      };
      const onAbort = () => finish('cancelled');
      // A short outage is survivable (the connection resumes where it left off); a longer one
      // ends the wait with an error rather than letting the model wait for nothing.
      const onStatus = (status: PartnerStatus) => {
        if (status === 'replaced' || status === 'unregistered') finish('dormant');
        else if (status === 'closed') finish('disconnected');
        else if (status === 'ready') {
          clearTimeout(graceTimer);
          graceTimer = undefined;
        } else if (!graceTimer) {
          graceTimer = setTimeout(() => finish('disconnected'), partner.config.requestTimeoutMs * 2);
        }
      };
      const timer = setTimeout(() => finish('timeout'), seconds * 1000);
      const progress = setInterval(() => {
        if (progressToken === undefined) return;
        const elapsed = Math.round((Date.now() - started) / 1000);
        send({
          method: 'notifications/progress',
          params: {
            progressToken,
            progress: elapsed,
            total: seconds,
            message: `waiting for messages (${elapsed}/${seconds} s)`,
          },
        }).catch(() => undefined);
      }, partner.config.progressIntervalMs);
      requestSignal.addEventListener('abort', onAbort, { once: true });
      partner.on('status', onStatus);
      if (requestSignal.aborted) return finish('cancelled');
      void partner.inbox.waitFor(filter, waiting.signal).then((found) => {
        if (found && !requestSignal.aborted) finish('message');
      });
    });
  }
};
