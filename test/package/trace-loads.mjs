// `node --import ./trace-loads.mjs …` writes the URL of every module the process loaded, one a
// line, to $TRACE_FILE when it exits: how a test sees what a command loads.
import { writeFileSync } from 'node:fs';
import module from 'node:module';
import process from 'node:process';
import { URL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';

const loaded = [];
process.on('exit', () => writeFileSync(process.env.TRACE_FILE, loaded.join('\n')));
if (typeof module.registerHooks === 'function') {
  // Hooks on this thread (Node 22.15 and later): each load is recorded before the process can
  // exit. Through the loader thread's port, a command that exits at once (duo --version on
  // Node 24) left before its loads were reported.
  module.registerHooks({
    load(url, context, next) {
      loaded.push(url);
      return next(url, context);
    },
  });
} else {
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url) => loaded.push(url));
  port1.unref();
  module.register(new URL('./trace-hooks.mjs', import.meta.url), { data: { port: port2 }, transferList: [port2] });
}
