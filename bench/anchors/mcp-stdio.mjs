// Anchor: the least an MCP server over stdio can be. Plain JavaScript, the MCP SDK's McpServer
// with one tool, nothing else loaded. The partner's start-up time and idle memory are read
// beside this. Run: node bench/anchors/mcp-stdio.mjs
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'anchor', version: '1.0.0' });
server.registerTool(
  'echo',
  { description: 'Returns its text.', inputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: 'text', text }] }),
);
await server.connect(new StdioServerTransport());
