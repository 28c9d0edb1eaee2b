/**
 * Which execution providers are plainly absent, found without building a session for them.
 *
 * Trying a provider whose libraries are missing costs a model load and makes the native side print
 * to fd 2, which we cannot capture from a thread: ONNX Runtime prints a red
 * `[E:onnxruntime...] Failed to load library ...providers_shared.so` block per try, and Dawn (WebGPU)
 * `vkCreateInstance: Found no drivers!` warnings. Those break the progress bar and the JSON log.
 * So: gather what is on disk (facts), decide from it (pure), and skip with our own log line.
 *
 * - CUDA and TensorRT are loaded by ONNX Runtime from the directory of its own library
 *   (`libonnxruntime_providers_{shared,cuda,tensorrt}.so` beside `libonnxruntime.so.1`).
 * - WebGPU on Linux runs on Vulkan: without a Vulkan driver manifest (ICD) there is no adapter.
 *
 * Only `auto` skips on these facts; a provider named explicitly is always tried (providers.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ProviderName } from './session-options.ts';

export interface ProviderFacts {
  readonly platform: NodeJS.Platform;
  /** Where onnxruntime-node's native libraries are, or undefined when not found. */
  readonly libraryDir: string | undefined;
  /** File names in `libraryDir`. */
  readonly libraries: readonly string[];
  /** Vulkan driver manifests (ICD .json files) found, or an explicit VK_ICD_FILENAMES/VK_DRIVER_FILES. */
  readonly vulkanDrivers: readonly string[];
}

const NEEDS: Partial<Record<ProviderName, readonly string[]>> = {
  cuda: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'],
  tensorrt: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so', 'libonnxruntime_providers_cuda.so'],
};

/** Why `provider` cannot work here, or undefined when it may (only a session can tell then). */
export function absentReason(provider: ProviderName, facts: ProviderFacts): string | undefined {
  // Only Linux is checked: elsewhere the libraries and adapters are named differently.
  if (facts.platform !== 'linux' || facts.libraryDir === undefined) return undefined;
  const needs = NEEDS[provider];
  if (needs !== undefined) {
    const missing = needs.filter((name) => !facts.libraries.includes(name));
    if (missing.length > 0) return `${missing.join(', ')} not installed in ${facts.libraryDir} (see README, "GPU images")`;
  }
  if (provider === 'webgpu' && facts.vulkanDrivers.length === 0) return `no Vulkan driver is installed (no ICD manifest in ${VULKAN_ICD_DIRS.join(', ')})`;
  return undefined;
}

const VULKAN_ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Reads the facts from this machine (file system and environment). */
export function gatherProviderFacts(env: Readonly<Record<string, string | undefined>> = process.env): ProviderFacts {
  let libraryDir: string | undefined;
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    // The package's entry is <root>/dist/index.js; its libraries are under <root>/bin.
    const root = path.resolve(path.dirname(entry), '..');
    const candidate = path.join(root, 'bin', 'napi-v6', process.platform, process.arch);
    if (existsSync(candidate)) libraryDir = candidate;
  } catch {
    libraryDir = undefined;
  }
  const explicit = [env['VK_ICD_FILENAMES'], env['VK_DRIVER_FILES'], env['VK_ADD_DRIVER_FILES']].filter((v): v is string => v !== undefined && v !== '');
  // The Vulkan loader's search path: XDG config and data dirs (and their defaults), then the fixed ones.
  const home = env['HOME'];
  const xdg = [
    ...(env['XDG_CONFIG_HOME'] ?? (home !== undefined ? path.join(home, '.config') : '')).split(':'),
    ...(env['XDG_CONFIG_DIRS'] ?? '/etc/xdg').split(':'),
    ...(env['XDG_DATA_HOME'] ?? (home !== undefined ? path.join(home, '.local', 'share') : '')).split(':'),
    ...(env['XDG_DATA_DIRS'] ?? '/usr/local/share:/usr/share').split(':'),
  ];
  const dataDirs = xdg.filter((d) => d !== '').map((d) => path.join(d, 'vulkan', 'icd.d'));
  const manifests = [...new Set([...VULKAN_ICD_DIRS, ...dataDirs])].flatMap((dir) => listDir(dir).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f)));
  return { platform: process.platform, libraryDir, libraries: libraryDir === undefined ? [] : listDir(libraryDir), vulkanDrivers: [...explicit, ...manifests] };
}
