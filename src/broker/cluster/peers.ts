/**
 * This broker's side of talking to the other brokers of its database (team mode on PostgreSQL):
 * publishing events, and what it has heard about partners online elsewhere. On SQLite there are
 * no peers; every method here is then a cheap no-op, so the service modules call it
 * unconditionally.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../../shared/log.ts';
import type { Store } from '../store.ts';
import type { OutgoingEvent } from './events.ts';

/** Which brokers each partner is online on, as those brokers reported it. */
export class RemotePresence {
  private readonly byPartner = new Map<string, Set<string>>();

  has(partnerId: string): boolean {
    return this.byPartner.has(partnerId);
  }

  add(partnerId: string, brokerId: string): void {
    let brokers = this.byPartner.get(partnerId);
    if (!brokers) this.byPartner.set(partnerId, (brokers = new Set()));
    brokers.add(brokerId);
  }

  /** True when the partner is now online on no other broker. */
  remove(partnerId: string, brokerId: string): boolean {
    const brokers = this.byPartner.get(partnerId);
    if (!brokers?.delete(brokerId)) return false;
    if (brokers.size > 0) return false;
    this.byPartner.delete(partnerId);
    return true;
  }

  /** Forgets everything (news was missed); the other brokers' answers to a `beat up` rebuild it. */
  clear(): void {
    this.byPartner.clear();
  }

  /** Forgets a broker that went away; returns the partners now online on no other broker. */
  dropBroker(brokerId: string): string[] {
    const gone: string[] = [];
    for (const partnerId of [...this.byPartner.keys()]) if (this.remove(partnerId, brokerId)) gone.push(partnerId);
    return gone;
  }
}

/** What is published outside a transaction and must be heard in the order it was published. */
const ORDERED = new Set<OutgoingEvent['t']>(['open', 'unreg', 'pres', 'hold', 'free']);

export class Peers {
  /**
   * Names this broker process in every event it publishes. A new one at every start: its
   * sequence numbers start again at 1 without colliding with those the others heard before.
   */
  readonly id = randomBytes(6).toString('hex');
  /** The sequence number of the last event published (strictly increasing). */
  private sequence = 0;
  /** The database's clock minus this host's, in milliseconds: stamps agree across hosts. */
  private clockOffsetMs = 0;
  readonly remote = new RemotePresence();
  /**
   * The highest message id this broker has handed to its recipients (its own commits and the
   * others' announcements). A commit that finds a higher id already stored must not push its own
   * messages ahead of the ones whose announcement is still on its way.
   */
  private handedUpTo = 0;
  /** Own commits that found messages not handed here yet: they count once those are. */
  private readonly waiting: Array<{ storedBefore: number; upTo: number }> = [];

  /** Messages up to `id` were handed to this broker's recipients (all stored before it, too). */
  handed(id: number): void {
    if (id > this.handedUpTo) this.handedUpTo = id;
    // Own commits wait in the order they were made, and each waits for an id below its own.
    while (this.waiting.length > 0 && this.waiting[0]!.storedBefore <= this.handedUpTo) {
      const own = this.waiting.shift()!;
      if (own.upTo > this.handedUpTo) this.handedUpTo = own.upTo;
    }
  }

  /** This broker handed its own messages up to `upTo`, committed when `storedBefore` was the newest id stored. */
  handedOwn(upTo: number, storedBefore: number): void {
    if (!this.enabled) return;
    if (storedBefore <= this.handedUpTo) this.handed(upTo);
    else this.waiting.push({ storedBefore, upTo });
  }

  /** Whether every message stored up to `storedUpTo` was handed to this broker's recipients. */
  caughtUpWith(storedUpTo: number): boolean {
    return !this.enabled || storedUpTo <= this.handedUpTo;
  }

  /** The database's signing key (team mode): only brokers can read it. */
  private key: string | undefined;
  /** The last event sent whose order matters: the next one waits for it (see `published`). */
  private lastOrdered: Promise<void> = Promise.resolve();

  constructor(
    /** Whether other brokers may share the database (PostgreSQL). */
    readonly enabled: boolean,
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Publishes `event` with the transaction `tx`: the others hear of it once, and only if, it commits. */
  async inTransaction(tx: Store, event: OutgoingEvent): Promise<void> {
    if (this.enabled) await tx.notify(this.payload(event));
  }

  /** Publishes `event` now. A failure is logged: the others catch up through the database. */
  publish(event: OutgoingEvent): void {
    void this.published(event);
  }

  /**
   * Like `publish`, resolving once the event is sent (never rejects). Events whose order matters
   * go out one after the other, in the order they were published: each NOTIFY may take another
   * pooled connection, and two in flight at once can commit in either order. Takeover needs this
   * broker's `open`s heard in the order its sessions opened (or each broker could end the session
   * the other kept), and presence its ons and offs. Beats, rate reports, `here` and `bye` carry no
   * order and never wait behind a slow one. Each is signed when it goes out, so its sequence
   * number and send time are those of the send.
   */
  published(event: OutgoingEvent): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    if (!ORDERED.has(event.t)) return this.send(event);
    const sent = this.lastOrdered.then(() => this.send(event));
    this.lastOrdered = sent;
    return sent;
  }

  private async send(event: OutgoingEvent): Promise<void> {
    try {
      await this.store.notify(this.payload(event));
    } catch (error) {
      this.log.warn({ err: error, event: event.t }, 'could not tell the other brokers');
    }
  }

  /** Signs from now on with the database's key. */
  useKey(key: string): void {
    this.key = key;
  }

  /** The cluster clock: this host's time corrected to the database's (milliseconds since 1970). */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** The database's clock was measured to run `offsetMs` ahead of this host's. */
  useClockOffset(offsetMs: number): void {
    this.clockOffsetMs = offsetMs;
  }

  /**
   * `<signature>.<json>`: the others act only on what a broker of the database signed, and only
   * once (the signed sequence number and send time let them refuse a replay).
   */
  private payload(event: OutgoingEvent): string {
    const json = JSON.stringify({ ...event, b: this.id, n: ++this.sequence, at: this.now() });
    return `${this.sign(json)}.${json}`;
  }

  /** The JSON of a payload another broker signed with the database's key, else undefined. */
  verified(payload: string): string | undefined {
    const dot = payload.indexOf('.');
    if (dot <= 0 || this.key === undefined) return undefined;
    const given = Buffer.from(payload.slice(0, dot));
    const json = payload.slice(dot + 1);
    const expected = Buffer.from(this.sign(json));
    return given.length === expected.length && timingSafeEqual(given, expected) ? json : undefined;
  }

  private sign(json: string): string {
    return createHmac('sha256', this.key ?? '')
      .update(json)
      .digest('base64url');
  }
}
