/** Anchor: raw `ws` relay and fan-out, nothing persisted. Run: node --import tsx bench/anchors/ws-relay.ts --port N */
import { anchorArgs } from './common.ts';
import { startRelay } from './relay.ts';

const args = anchorArgs();
startRelay({ ...args, db: undefined });
