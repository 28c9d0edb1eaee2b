// @ts-check
/**
 * The user's cache folder for this program: `$XDG_CACHE_HOME/upscale-operator/<name>`, else
 * `~/.cache/upscale-operator/<name>`; never a shared temporary folder. Used for Node's compile cache
 * (bin/compile-cache.js) and ffmpeg's answers (worker/media/ffmpeg-tables.ts).
 *
 * JavaScript (types in JSDoc, checked by tsc): the launcher loads it before Node's compile cache is
 * on (bin/upscale.js).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The folder, or undefined when there is no home and no XDG_CACHE_HOME.
 * @param {string} name
 * @param {NodeJS.ProcessEnv} [env]
 * @param {string} [home]
 * @returns {string | undefined}
 */
export function userCacheDir(name, env = process.env, home = homedir()) {
  const base = env['XDG_CACHE_HOME'] || (home !== '' ? join(home, '.cache') : '');
  return base === '' ? undefined : join(base, 'upscale-operator', name);
}
