/**
 * Partners with presence and status lines (a page at a time), and the form that creates a
 * group with the human in it.
 */
import type { ConsolePartner, ConsolePartnersReply } from '../../src/shared/console-protocol.ts';
import type { PresenceFrame } from '../../src/shared/protocol.ts';
import { api, query } from './api.ts';
import { h } from './dom.ts';
import { clock } from './format.ts';

const PAGE = 100;

export interface PartnerHost {
  me: string;
  message(partnerId: string): void;
  presenceChanged(partnerId: string): void;
  error(error: unknown): void;
}

export class PartnerList {
  readonly element: HTMLElement;
  private readonly items = new Map<string, ConsolePartner>();
  private readonly rows = new Map<string, HTMLLIElement>();
  private readonly list = h('ul', { class: 'partners' });
  private readonly more = h('button', { class: 'more', type: 'button', text: 'More partners' });
  private next: string | null = null;

  constructor(private readonly host: PartnerHost) {
    this.more.addEventListener('click', () => void this.loadMore());
    this.element = h('section', { class: 'panel partners-panel' }, h('h2', { text: 'Partners' }), this.list, this.more);
  }

  isOnline(partnerId: string): boolean {
    return this.items.get(partnerId)?.online ?? false;
  }

  ids(): string[] {
    return [...this.items.keys()];
  }

  async loadMore(): Promise<void> {
    try {
      const page = await api<ConsolePartnersReply>(
        'GET',
        `/console/api/partners${query({ limit: PAGE, after: this.next ?? undefined })}`,
      );
      for (const partner of page.partners) this.upsert(partner);
      this.next = page.next;
      this.more.hidden = page.next === null;
    } catch (error) {
      this.host.error(error);
    }
  }

  onPresence(frame: PresenceFrame): void {
    const known = this.items.get(frame.partnerId);
    this.upsert({
      id: frame.partnerId,
      name: known?.name ?? frame.partnerId,
      kind: known?.kind ?? 'agent',
      online: frame.online,
      status: frame.status,
      lastSeen: frame.online ? (known?.lastSeen ?? null) : new Date().toISOString(),
    });
    this.host.presenceChanged(frame.partnerId);
  }

  private upsert(partner: ConsolePartner): void {
    this.items.set(partner.id, partner);
    const row = this.render(partner);
    const old = this.rows.get(partner.id);
    this.rows.set(partner.id, row);
    if (old) old.replaceWith(row);
    else this.list.appendChild(row);
  }

  private render(p: ConsolePartner): HTMLLIElement {
    const you = p.id === this.host.me;
    return h(
      'li',
      { class: `partner${p.online ? ' online' : ''}`, data: { id: p.id } },
      h('span', { class: 'dot', title: p.online ? 'online' : 'offline' }),
      h(
        'span',
        { class: 'who' },
        h('span', { class: 'name', text: p.name === p.id ? p.id : `${p.name} (${p.id})` }),
        p.kind === 'human' ? h('span', { class: 'tag', text: you ? 'you' : 'human' }) : null,
        h('span', {
          class: 'status',
          text: p.status ?? (p.online ? 'online' : p.lastSeen ? `seen ${clock(p.lastSeen)}` : 'offline'),
        }),
      ),
      you
        ? null
        : h('button', { type: 'button', class: 'small', text: 'Message', onclick: () => this.host.message(p.id) }),
    );
  }
}

export interface GroupHost {
  created(conversationId: string): void;
  error(error: unknown): void;
}

/** Creates a group with the human and the participants named (ids, separated by commas or spaces). */
export function groupForm(host: GroupHost): HTMLElement {
  const name = h('input', { type: 'text', placeholder: 'Group name' });
  const participants = h('input', { type: 'text', placeholder: 'Participants: alice, bob' });
  const submit = h('button', { type: 'submit', text: 'Create group' });
  const form = h(
    'form',
    {
      class: 'group-form',
      onsubmit: (event) => {
        event.preventDefault();
        const ids = participants.value.split(/[\s,]+/).filter(Boolean);
        submit.disabled = true;
        api<{ conversation: { id: string } }>('POST', '/console/api/conversations', {
          name: name.value,
          participants: ids,
        })
          .then(({ conversation }) => {
            name.value = '';
            participants.value = '';
            host.created(conversation.id);
          })
          .catch((error: unknown) => host.error(error))
          .finally(() => (submit.disabled = false));
      },
    },
    name,
    participants,
    submit,
  );
  return h('details', { class: 'panel' }, h('summary', { text: 'New group' }), form);
}
