/**
 * Delivery receipts in the open conversation: under each message, how far it got for each
 * recipient (seen by its model, pushed to its session, or stored). A page of history brings
 * them; the watch stream then moves them on (`read`: a member's cursor moved; `pushed`: a
 * partner's session was handed what it had not read), and a message arriving live starts as
 * stored for every other member. A push is announced before the message it covers, so the
 * highest push so far is kept and applied to messages shown later; so is the highest read, but
 * only up to the newest message already shown (a cursor never passes the newest message, and a
 * client asking for more must not mark later ones seen). States only ever move forward.
 */
import type { PushedFrame, ReadFrame } from '../../src/shared/console-protocol.ts';
import type { HistoryMessage, Message, Receipt } from '../../src/shared/protocol.ts';
import { h, replace } from './dom.ts';

const RANK: Record<Receipt, number> = { stored: 0, pushed: 1, seen: 2 };
const MARK: Record<Receipt, string> = { seen: '✓✓', pushed: '✓', stored: '○' };
const MEANING: Record<Receipt, string> = {
  seen: 'seen: the text reached its model',
  pushed: 'pushed to its session, not seen yet',
  stored: 'stored on the broker, not delivered yet',
};
/** Above this many recipients, a message shows counts and folds the names away. */
const FOLD_AT = 8;

interface Shown {
  receipts: Map<string, Receipt>;
  element: HTMLElement;
}

export class Receipts {
  private conversationId: string | undefined;
  private readonly shown = new Map<number, Shown>();
  private newest = 0;
  /** The open conversation's read cursors that moved while it was open. */
  private readonly readUpTo = new Map<string, number>();
  /** Pushes recorded while the console is open, per partner (they span conversations). */
  private readonly pushedUpTo = new Map<string, number>();

  /** Another conversation (or none) is open: forget the messages shown. */
  reset(conversationId: string | undefined): void {
    this.conversationId = conversationId;
    this.shown.clear();
    this.readUpTo.clear();
    this.newest = 0;
  }

  /**
   * The receipts row of a message: its own receipts from history, or for a live message every
   * member of `members` but the sender, stored.
   */
  element(message: Message | HistoryMessage, members: readonly string[]): HTMLElement {
    const receipts = new Map<string, Receipt>(
      'receipts' in message
        ? (Object.entries(message.receipts) as Array<[string, Receipt]>)
        : members.filter((id) => id !== message.from).map((id) => [id, 'stored' as const]),
    );
    const shown: Shown = { receipts, element: h('div', { class: 'receipts' }) };
    for (const id of receipts.keys()) {
      if ((this.pushedUpTo.get(id) ?? 0) >= message.id) advance(shown, id, 'pushed');
      if ((this.readUpTo.get(id) ?? 0) >= message.id) advance(shown, id, 'seen');
    }
    this.shown.set(message.id, shown);
    this.newest = Math.max(this.newest, message.id);
    render(shown);
    return shown.element;
  }

  read(frame: ReadFrame): void {
    if (frame.conversationId !== this.conversationId) return;
    const upTo = Math.min(frame.upTo, this.newest);
    this.readUpTo.set(frame.partnerId, Math.max(this.readUpTo.get(frame.partnerId) ?? 0, upTo));
    this.move(frame.partnerId, upTo, 'seen');
  }

  pushed(frame: PushedFrame): void {
    this.pushedUpTo.set(frame.partnerId, Math.max(this.pushedUpTo.get(frame.partnerId) ?? 0, frame.upTo));
    this.move(frame.partnerId, frame.upTo, 'pushed');
  }

  private move(partnerId: string, upTo: number, to: Receipt): void {
    for (const [id, shown] of this.shown) {
      if (id <= upTo && advance(shown, partnerId, to)) render(shown);
    }
  }
}

/** Moves one recipient's receipt forward to `to`; true when it changed. */
function advance(shown: Shown, partnerId: string, to: Receipt): boolean {
  const now = shown.receipts.get(partnerId);
  if (now === undefined || RANK[now] >= RANK[to]) return false;
  shown.receipts.set(partnerId, to);
  return true;
}

function render(shown: Shown): void {
  const chips = [...shown.receipts].map(([id, state]) =>
    h('span', {
      class: `receipt ${state}`,
      data: { partner: id, state },
      title: `${id}: ${MEANING[state]}`,
      text: `${MARK[state]} ${id}`,
    }),
  );
  shown.element.hidden = chips.length === 0;
  if (chips.length <= FOLD_AT) {
    replace(shown.element, ...chips);
    return;
  }
  // A big group: counts, with the names one click away (kept open across updates).
  const counts = (['seen', 'pushed', 'stored'] as const)
    .map((state) => [state, [...shown.receipts.values()].filter((s) => s === state).length] as const)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${MARK[state]} ${n} ${state}`);
  const open = shown.element.querySelector('details')?.open ?? false;
  const details = h('details', {}, h('summary', { text: counts.join(' · ') }), ...chips);
  details.open = open;
  replace(shown.element, details);
}
