/**
 * Built-ins that code on a hook's path loads on first use, not at start: Claude Code runs a hook
 * at every tool call, and loading node:crypto costs it about 9 ms (every crypto module of Node)
 * when most runs hash and draw nothing. process.getBuiltinModule, never import(): see the
 * built-ins note in scripts/build.mjs.
 */
export const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');
