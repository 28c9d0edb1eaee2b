#!/usr/bin/env node
/**
 * The `upscale` executable: listens for SIGINT/SIGTERM (signals.ts), turns on Node's compile cache
 * (compile-cache.ts), starts the ffmpeg runs the command will need first (ffmpeg-prefetch.ts: they
 * run while the command loads), then loads the command (cli.ts). Nothing else belongs here: every
 * module imported before the cache is on is compiled, TypeScript stripped, afresh in every process.
 */
import { listenForSignals } from './signals.ts';
import { enableModuleCache } from './compile-cache.ts';

listenForSignals();
enableModuleCache();
(await import('./ffmpeg-prefetch.ts')).prefetchFfmpegAnswers(process.argv[2]);
await import('./cli.ts');
