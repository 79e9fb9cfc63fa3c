/**
 * A fake Anthropic Messages API for the real Claude Code binary, played by a scripted model.
 *
 * `POST /v1/messages` (any query) is answered as the binary expects: SSE when the request says
 * `stream: true` (message_start, one content_block_start/delta/stop per block with text_delta or
 * input_json_delta, message_delta with the stop reason and usage, message_stop), a JSON message
 * otherwise. `HEAD /` and `GET /` answer 200 (a reachability probe); anything else is 404.
 *
 * Every request is recorded with its parsed body and arrival time, so a test can say "the model's
 * next request holds bob's text" and wait for it. The model is a function the test gives: it sees
 * each request and the helpers of `Turn` (the tools offered, whether a tool is deferred behind
 * ToolSearch, the results of earlier calls) and answers with text and/or tool calls. `Turn.call`
 * goes through ToolSearch first when the tool it wants is offered by name only.
 *
 * Requests the script did not ask for (Claude Code's side calls: titles, summaries, a quota probe)
 * are told apart from the main loop by the absence of the session's tools and answered with a
 * short text, so a script only ever sees the main conversation.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

/** A content block of a request message, as far as the harness reads it. */
export interface Block {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: string | Block[];
  [key: string]: unknown;
}

export interface RequestMessage {
  role: 'user' | 'assistant' | 'system';
  content: string | Block[];
}

export interface OfferedTool {
  name: string;
  description?: string;
  input_schema?: unknown;
  defer_loading?: boolean;
  [key: string]: unknown;
}

export interface MessagesBody {
  model?: string;
  stream?: boolean;
  system?: string | Block[];
  messages: RequestMessage[];
  tools?: OfferedTool[];
  [key: string]: unknown;
}

export interface RecordedRequest {
  /** 1-based, over every POST /v1/messages this server answered. */
  n: number;
  /** performance.now() when the body had arrived. */
  at: number;
  url: string;
  headers: IncomingMessage['headers'];
  body: MessagesBody;
  /** Whether it went to the script (a main-loop request) or was answered as a side call. */
  main: boolean;
  /** Everything the model was given as text: system, messages, tool results, in order. */
  text: string;
  /** What the fake answered, and when (performance.now()), once it has. */
  reply?: Reply;
  repliedAt?: number;
}

export type ReplyBlock =
  { type: 'text'; text: string } | { type: 'tool_use'; id?: string; name: string; input: unknown };

export interface Reply {
  blocks: ReplyBlock[];
  /** Defaults to tool_use when a block calls a tool, else end_turn. */
  stopReason?: string;
}

export type Model = (turn: Turn) => Reply | Promise<Reply>;

/** The name Claude Code gives its tool-search tool. */
export const TOOL_SEARCH = 'ToolSearch';

/** One request as the scripted model sees it, with what a script needs to decide its answer. */
export class Turn {
  constructor(readonly request: RecordedRequest) {}

  get body(): MessagesBody {
    return this.request.body;
  }

  /** The names of the tools offered with a schema the model can call now. */
  loaded(): string[] {
    return (this.body.tools ?? []).filter((tool) => !tool.defer_loading).map((tool) => tool.name);
  }

  /** Whether `name` is offered with its schema (callable without a search). */
  isLoaded(name: string): boolean {
    if (this.loaded().includes(name)) return true;
    // A tool found by an earlier search is callable from then on.
    return this.searched().includes(name);
  }

  /** Whether `name` is known to the model only as a deferred name (ToolSearch must load it first). */
  isDeferred(name: string): boolean {
    if (this.isLoaded(name)) return false;
    return (
      (this.body.tools ?? []).some((tool) => tool.name === name && tool.defer_loading === true) ||
      this.request.text.includes(name)
    );
  }

  /** Tool names a ToolSearch result in this conversation returned (as tool references or text). */
  searched(): string[] {
    const names = new Set<string>();
    for (const result of this.results(TOOL_SEARCH)) {
      for (const block of result.blocks) {
        if (block.type === 'tool_reference' && typeof block.tool_name === 'string') names.add(block.tool_name);
      }
    }
    return [...names];
  }

  /**
   * Calls `name` with `input`; when that tool is deferred and ToolSearch is offered, searches for
   * it first (the script is asked again once the search result is in, and then calls the tool).
   */
  call(name: string, input: unknown, text?: string): Reply {
    if (!this.isLoaded(name) && this.loaded().includes(TOOL_SEARCH)) {
      return toolCall(TOOL_SEARCH, { query: `select:${name}`, max_results: 1 });
    }
    return toolCall(name, input, text);
  }

  /** The calls the assistant made to `name` in this conversation, with their results (when back). */
  results(name: string): { input: unknown; text: string; blocks: Block[]; isError: boolean }[] {
    const calls = new Map<string, unknown>();
    const out: { input: unknown; text: string; blocks: Block[]; isError: boolean }[] = [];
    for (const message of this.body.messages) {
      if (typeof message.content === 'string') continue;
      for (const block of message.content) {
        if (block.type === 'tool_use' && block.name === name && block.id) calls.set(block.id, block.input);
        if (block.type === 'tool_result' && block.tool_use_id && calls.has(block.tool_use_id)) {
          const blocks =
            typeof block.content === 'string' ? [{ type: 'text', text: block.content }] : (block.content ?? []);
          out.push({
            input: calls.get(block.tool_use_id),
            text: blocksText(blocks),
            blocks,
            isError: block.is_error === true,
          });
        }
      }
    }
    return out;
  }

  /** The text of the newest result of `name` the model was given, or undefined. */
  lastResult(name: string): string | undefined {
    return this.results(name).at(-1)?.text;
  }

  /** Whether the fake's answer to this request called `name`. */
  answeredWith(name: string): boolean {
    return this.request.reply?.blocks.some((b) => b.type === 'tool_use' && b.name === name) ?? false;
  }

  /** The text of the last message (the user turn or the tool results this request answers). */
  lastText(): string {
    const last = this.body.messages.at(-1);
    return last === undefined ? '' : contentText(last.content);
  }

  /** Whether any text the model was given contains `needle`. */
  has(needle: string): boolean {
    return this.request.text.includes(needle);
  }

  /** How many times `needle` occurs in what the model was given. */
  count(needle: string): number {
    return this.request.text.split(needle).length - 1;
  }
}

export function text(reply: string): Reply {
  return { blocks: [{ type: 'text', text: reply }] };
}

let toolIds = 0;

export function toolCall(name: string, input: unknown, say?: string): Reply {
  const blocks: ReplyBlock[] = say === undefined ? [] : [{ type: 'text', text: say }];
  blocks.push({ type: 'tool_use', id: `toolu_fake_${Date.now().toString(36)}_${++toolIds}`, name, input });
  return { blocks };
}

export function contentText(content: string | Block[] | undefined): string {
  if (content === undefined) return '';
  return typeof content === 'string' ? content : blocksText(content);
}

function blocksText(blocks: Block[]): string {
  return blocks
    .map((block) => {
      if (typeof block.text === 'string') return block.text;
      if (block.type === 'tool_result') return contentText(block.content);
      if (block.type === 'tool_use') return `${block.name} ${JSON.stringify(block.input)}`;
      if (block.type === 'tool_reference') return String(block.tool_name);
      return '';
    })
    .join('\n');
}

function requestText(body: MessagesBody): string {
  const system = typeof body.system === 'string' ? body.system : blocksText(body.system ?? []);
  return [system, ...body.messages.map((m) => contentText(m.content))].join('\n');
}

export interface WaitOptions {
  timeoutMs?: number;
  /** Only requests numbered above this (e.g. `api.count()` taken before the action). */
  after?: number;
  what?: string;
}

export class FakeApi {
  requests: RecordedRequest[] = [];
  /** Requests to anything else than the messages endpoint, as `METHOD url`. */
  others: string[] = [];
  private numbered = 0;
  private model: Model = () => text('ok');
  private readonly waiters = new Set<() => void>();
  private failure: Error | undefined;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(model?: Model): Promise<FakeApi> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const api = new FakeApi(server, `http://127.0.0.1:${port}`);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void api.handle(req, res));
    if (model) api.setModel(model);
    return api;
  }

  /** The script answering main-loop requests from now on. */
  setModel(model: Model): void {
    this.model = model;
  }

  /** The number of the newest messages request so far (main and side); 0 before any. */
  count(): number {
    return this.numbered;
  }

  /** Forgets every request and the script (between tests sharing this server). */
  reset(): void {
    this.requests = [];
    this.others = [];
    this.failure = undefined;
    this.model = () => text('ok');
  }

  main(): RecordedRequest[] {
    return this.requests.filter((r) => r.main);
  }

  /** A script that threw: tests call this to surface it instead of a mysterious timeout. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Main-loop requests (numbered above `after`), as the model sees them. */
  turns(after = 0): Turn[] {
    return this.requests.filter((r) => r.main && r.n > after).map((r) => new Turn(r));
  }

  /** Waits for a main-loop request matching `predicate` (numbered above `after`), and returns it. */
  async waitFor(predicate: (turn: Turn) => boolean, options: WaitOptions = {}): Promise<Turn> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const after = options.after ?? 0;
    for (;;) {
      this.check();
      const found = this.turns(after).find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const last = this.main().at(-1);
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for a model request ${options.what ?? 'matching'}; ` +
            `${this.requests.length} request(s) so far; the last main one ended with: ${
              last === undefined ? '(none)' : JSON.stringify(lastMessageText(last).slice(-600))
            }`,
        );
      }
      await nextChange(this.waiters, left);
    }
  }

  /** Waits for a main-loop request whose text holds `needle`. */
  waitForText(needle: string, options: WaitOptions = {}): Promise<Turn> {
    return this.waitFor((turn) => turn.has(needle), { what: `holding ${JSON.stringify(needle)}`, ...options });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method === 'HEAD' || req.method === 'GET') && path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end();
      return;
    }
    if (req.method !== 'POST' || path !== '/v1/messages') {
      this.others.push(`${req.method} ${req.url}`);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'not served by the fake' } }));
      return;
    }
    let body: MessagesBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MessagesBody;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const request: RecordedRequest = {
      n: ++this.numbered,
      at: performance.now(),
      url: req.url ?? '',
      headers: req.headers,
      body,
      main: isMainLoop(body),
      text: requestText(body),
    };
    this.requests.push(request);
    this.wake();
    let reply: Reply;
    if (!request.main) {
      reply = text('ok');
    } else {
      try {
        reply = await this.model(new Turn(request));
      } catch (error) {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
        reply = text(`(the test's model script failed: ${this.failure.message})`);
      }
    }
    respond(res, body, reply, request.n);
    request.reply = reply;
    request.repliedAt = performance.now();
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** The main loop offers the session's tools; side calls (titles, summaries, probes) offer none. */
function isMainLoop(body: MessagesBody): boolean {
  return (body.tools?.length ?? 0) > 0;
}

/** The newest user or assistant message (Claude Code also sends system-role ones), for failure messages. */
function lastMessageText(request: RecordedRequest): string {
  const last = [...request.body.messages].reverse().find((m) => m.role === 'user' || m.role === 'assistant');
  return last === undefined ? '' : contentText(last.content);
}

function respond(res: ServerResponse, body: MessagesBody, reply: Reply, n: number): void {
  const id = `msg_fake_${n}`;
  const model = body.model ?? 'claude-sonnet-4-5';
  const stopReason = reply.stopReason ?? (reply.blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
  const content = reply.blocks.map((block, index) =>
    block.type === 'tool_use'
      ? { type: 'tool_use', id: block.id ?? `toolu_fake_${n}_${index}`, name: block.name, input: block.input }
      : { type: 'text', text: block.text },
  );
  const usage = { input_tokens: 10, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        type: 'message',
        role: 'assistant',
        model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage,
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const event = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  event('message_start', {
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: 1 },
    },
  });
  content.forEach((block, index) => {
    if (block.type === 'tool_use') {
      event('content_block_start', { index, content_block: { ...block, input: {} } });
      event('content_block_delta', {
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input ?? {}) },
      });
    } else {
      event('content_block_start', { index, content_block: { type: 'text', text: '' } });
      event('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
    }
    event('content_block_stop', { index });
  });
  event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 10 } });
  event('message_stop', {});
  res.end();
}

/** Resolves when one of `waiters` is called (something changed), or after `ms`. */
export function nextChange(waiters: Set<() => void>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      waiters.delete(done);
      resolve();
    }
    waiters.add(done);
  });
}
