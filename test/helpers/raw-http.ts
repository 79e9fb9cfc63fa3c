/**
 * Raw HTTP/1.1 over a TCP socket, for requests no well-behaved client would send: invalid bytes in
 * headers, broken request lines, lying Content-Length. Returns whatever the server answered before
 * it closed the connection (or `timeoutMs` passed).
 */
import { connect } from 'node:net';

export interface RawReply {
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (as opposed to our timeout). */
  closedByServer: boolean;
  ms: number;
}

export function rawRequest(port: number, request: string | Buffer, timeoutMs = 5_000): Promise<RawReply> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => {
      closedByServer = true;
      socket.destroy();
    });
    socket.on('error', () => {
      closedByServer = true;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ...parse(Buffer.concat(chunks).toString('utf8')), closedByServer, ms: Date.now() - started });
    });
    socket.write(request);
  });
}

function parse(text: string): Pick<RawReply, 'status' | 'headers' | 'body'> {
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  const body = split === -1 ? '' : text.slice(split + 4);
  const [statusLine, ...lines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1];
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: status === undefined ? undefined : Number(status), headers, body };
}
