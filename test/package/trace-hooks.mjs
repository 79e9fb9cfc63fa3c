// Module loader hooks (they run on the loader's own thread): report every module URL that is
// loaded to the main thread through the port trace-loads.mjs hands over.
let port;

export function initialize(data) {
  port = data.port;
}

export async function load(url, context, next) {
  port.postMessage(url);
  return next(url, context);
}
