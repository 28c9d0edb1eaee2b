/**
 * A private temporary directory per `upscale` process, removed when it exits (also on a second
 * Ctrl-C, which exits at once): its ffmpeg work folders, its worker processes' and ONNX Runtime's
 * files (onnxruntime-node 1.30 writes `mat-debug-<pid>.log` and `.ses` there when its telemetry is
 * on) never stay behind in a shared folder. Child processes inherit it through TMPDIR.
 *
 * The shared directory stays known as UPSCALE_SHARED_TMPDIR, for what must be seen across runs
 * (the run locks of S3 outputs, run-lock.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Points TMPDIR at a fresh private directory and removes it at exit; returns its path. */
export function usePrivateTmpdir(env: NodeJS.ProcessEnv = process.env): string {
  const shared = env['UPSCALE_SHARED_TMPDIR'] ?? os.tmpdir();
  const dir = mkdtempSync(path.join(os.tmpdir(), `upscale-${process.pid}-`));
  env['UPSCALE_SHARED_TMPDIR'] = shared;
  env['TMPDIR'] = dir; // os.tmpdir() reads TMPDIR on every call
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
