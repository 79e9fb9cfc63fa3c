// `node --import ./trace-loads.mjs …` writes the URL of every module the process loaded, one a
// line, to $TRACE_FILE when it exits: how a test sees what a command loads.
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';
import process from 'node:process';
import { URL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';

const { port1, port2 } = new MessageChannel();
const loaded = [];
port1.on('message', (url) => loaded.push(url));
port1.unref();
register(new URL('./trace-hooks.mjs', import.meta.url), { data: { port: port2 }, transferList: [port2] });
process.on('exit', () => writeFileSync(process.env.TRACE_FILE, loaded.join('\n')));
