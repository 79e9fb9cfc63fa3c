// `node --import ./trace-loads.mjs …` writes the URL of every module the process loaded, one a
// line, to $TRACE_FILE when it exits, then `builtin:<name>` for each of Node's own modules it
// loaded (however: require, process.getBuiltinModule, or inside Node): how a test sees what a
// command loads.
import { writeFileSync } from 'node:fs';
import module from 'node:module';
import process from 'node:process';
import { URL } from 'node:url';

const loaded = [];
const before = new Set(process.moduleLoadList);
process.on('exit', () => {
  const builtins = process.moduleLoadList
    .filter((entry) => !before.has(entry) && entry.startsWith('NativeModule '))
    .map((entry) => `builtin:${entry.slice('NativeModule '.length)}`);
  writeFileSync(process.env.TRACE_FILE, [...loaded, ...builtins].join('\n'));
});
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
  // Loaded only here, after `before`: a process that loads worker_threads itself must show it.
  const { MessageChannel } = await import('node:worker_threads');
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url) => loaded.push(url));
  port1.unref();
  module.register(new URL('./trace-hooks.mjs', import.meta.url), { data: { port: port2 }, transferList: [port2] });
}
