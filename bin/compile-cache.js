// @ts-check
/**
 * Node's module compile cache for the `upscale` command. Node runs this project's TypeScript by
 * stripping the types of every file at load, then compiles it: some 0.4 s of a 2-core machine's
 * time before a local run does anything (measured 402-428 ms to import run-command.ts, 167-214 ms
 * from the cache). The cache keeps the stripped and compiled code per file content and Node
 * version, so an edited file or another Node is compiled afresh: it is never stale.
 *
 * Where: `NODE_COMPILE_CACHE` when set (Node's own variable; the image points it at a cache built
 * with the image), else `$XDG_CACHE_HOME/upscale-operator/node-compile-cache`, else
 * `~/.cache/upscale-operator/node-compile-cache`: the user's cache, never a shared temporary
 * folder. `NODE_DISABLE_COMPILE_CACHE=1` turns it off. A folder that cannot be created or written
 * (a read-only root filesystem) just means no cache: Node reports that as a status, not an error.
 *
 * JavaScript (types in JSDoc, checked by tsc): it loads before the cache is on (see upscale.js).
 */
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { userCacheDir } from '../worker/user-cache.js';

/**
 * The cache folder for this environment, or undefined when there is no place for one.
 * @param {NodeJS.ProcessEnv} [env]
 * @param {string} [home]
 * @returns {string | undefined}
 */
export function compileCacheDir(env = process.env, home = homedir()) {
  if (env['NODE_DISABLE_COMPILE_CACHE'] !== undefined && env['NODE_DISABLE_COMPILE_CACHE'] !== '') return undefined;
  if (env['NODE_COMPILE_CACHE']) return env['NODE_COMPILE_CACHE'];
  return userCacheDir('node-compile-cache', env, home);
}

/**
 * Enables the cache for the modules loaded from now on, and for the processes this one starts
 * (the local worker processes) through `NODE_COMPILE_CACHE`.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {void}
 */
export function enableModuleCache(env = process.env) {
  const dir = compileCacheDir(env);
  if (dir === undefined) return;
  env['NODE_COMPILE_CACHE'] = dir;
  enableCompileCache(dir);
}
