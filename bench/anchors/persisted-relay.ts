/**
 * Anchor: the persisted-relay floor. Raw `ws`, and one-row commit in better-sqlite3 (WAL,
 * synchronous=FULL) before forwarding: the least any broker that acknowledges only committed
 * messages can do per message. Run: node --import tsx bench/anchors/persisted-relay.ts --port N --db FILE
 */
import { anchorArgs } from './common.ts';
import { startRelay } from './relay.ts';

const args = anchorArgs();
if (args.db === undefined) throw new Error('persisted-relay: --db is required');
startRelay(args);
