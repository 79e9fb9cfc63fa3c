/**
 * The partner's receiving side without MCP: the real client connection feeding a real Mailbox,
 * for tests that watch the inbox and flow control under load or through a broken network.
 */
import { BrokerConnection } from '../../src/client/connection.ts';
import { brokerEndpoint } from '../../src/client/endpoint.ts';
import type { InboxLimits } from '../../src/partner/inbox.ts';
import { Mailbox } from '../../src/partner/mailbox.ts';
import { silentLogger } from '../../src/shared/log.ts';

export interface MailboxClient {
  connection: BrokerConnection;
  mailbox: Mailbox;
}

export function mailboxClient(
  brokerUrl: string,
  limits: InboxLimits,
  timing: { requestTimeoutMs: number; reconnectBaseMs: number; reconnectCapMs: number },
): MailboxClient {
  const connection = new BrokerConnection({
    endpoint: brokerEndpoint({ brokerUrl }),
    logger: silentLogger,
    requestTimeoutMs: timing.requestTimeoutMs,
    backoff: { baseMs: timing.reconnectBaseMs, capMs: timing.reconnectCapMs },
    since: (): number => mailbox.since,
  });
  const mailbox = new Mailbox(limits, connection);
  return { connection, mailbox };
}
