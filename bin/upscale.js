#!/usr/bin/env node
// @ts-check
/**
 * The `upscale` executable: turns on Node's compile cache (compile-cache.js), listens for
 * SIGINT/SIGTERM (signals.ts), starts the ffmpeg runs the command will need first
 * (ffmpeg-prefetch.ts: they run while the command loads), then loads the command (cli.ts).
 *
 * JavaScript, like compile-cache.js, because these two load before the cache is on: a TypeScript
 * file there makes Node load its type stripper (amaro, a WebAssembly module) in every process,
 * 0.04-0.05 s of a 2-core machine's start (`--version`: 0.11-0.16 s with a .ts entry, 0.07-0.11 s
 * with this one). Every module after them comes stripped and compiled from the cache, and the
 * stripper is never loaded. Nothing else belongs here.
 */
import { enableModuleCache } from './compile-cache.js';

enableModuleCache();
(await import('./signals.ts')).listenForSignals();
(await import('./ffmpeg-prefetch.ts')).prefetchFfmpegAnswers(process.argv.slice(2));
await import('./cli.ts');
