// Anchor: the least a Fastify server can be. Plain JavaScript, one route, nothing else loaded.
// The broker's start (spawn → /health answered) is read beside this.
// Run: node bench/anchors/fastify-health.mjs <port>
import process from 'node:process';
import Fastify from 'fastify';

const app = Fastify();
app.get('/health', async () => ({ ok: true }));
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
