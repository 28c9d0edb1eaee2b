/**
 * Benchmark (not a test): assembly time against output size. Sources of 15, 30 and 60 s (the test
 * footage looped, 640x480 H.264 with an AAC tone; made once and cached under `.cache/bench/`,
 * keyed by their recipe) are cut into 15 s shards (identity upscale, the shard step's own encoder)
 * and joined by the assemble step's `assemble()` (concat demuxer, stream copy, the source's
 * audio, verification). Printed per size: output MiB, seconds (check / mux / verify), and whether
 * the output's video packets are the shards' (ffprobe: the same packet count, and every decoded
 * frame's MD5 equal: a re-encode would change them); then a least-squares line seconds = a + b x MiB and how far each
 * point is off it, and the scratch disk the step needs.
 *
 *   node test/bench/assemble-bench.ts [--seconds 15,30,60] [--shard-seconds 15] [--size 640x480]
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { assemble, type ShardFile } from '../../worker/media/assemble.ts';
import { encodeShard, sourceTiming } from '../../worker/media/encode.ts';
import { extractFrames } from '../../worker/media/extract.ts';
import { probe } from '../../worker/media/probe.ts';
import type { Probe } from '../../worker/media/probe-schema.ts';
import { rgbFormatFor } from '../../worker/media/raw-format.ts';
import { REPO, sourceVideo, videoFramemd5 } from '../fixtures/clips.ts';
import { fitLine } from './fit.ts';

const run = promisify(execFile);
const CACHE = join(REPO, '.cache', 'bench');

/** A cached file made by `make(tmp)`, named by `key` (its recipe's hash). */
async function cached(name: string, recipe: unknown, make: (tmp: string) => Promise<void>): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 10);
  const path = join(CACHE, name.replace('{key}', key));
  if (existsSync(path)) return path;
  await mkdir(CACHE, { recursive: true });
  const tmp = `${path}.tmp.${process.pid}${name.slice(name.lastIndexOf('.'))}`;
  await make(tmp);
  await rename(tmp, path);
  return path;
}

async function source(seconds: number, size: string): Promise<string> {
  const args = ['-v', 'error', '-stream_loop', '-1', '-i', sourceVideo(), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(seconds), '-map', '0:v:0', '-map', '1:a:0', '-vf', `scale=${size}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '48', '-c:a', 'aac', '-b:a', '128k'];
  return cached(`assemble-src-${seconds}s-${size}-{key}.mp4`, args, (tmp) => run('ffmpeg', [...args, '-y', tmp]).then(() => undefined));
}

/** Video packets of a file (ffprobe), in decode order. */
async function packetCount(path: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=size', '-of', 'csv=p=0', path], { maxBuffer: 64 << 20 });
  return stdout.split('\n').filter((l) => l.trim() !== '').length;
}

/** MD5 of every decoded video frame (framemd5's hash column; timestamps differ by container). */
async function frameHashes(path: string): Promise<string[]> {
  return (await videoFramemd5(path)).map((line) => line.split(',').at(-1)?.trim() ?? '');
}

async function videoCodec(path: string): Promise<string> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', path]);
  return stdout.trim();
}

/** The shards of frames [0, frames) of `src`, `perShard` frames each (the last may be shorter), cached. */
async function shardFiles(src: string, p: Probe, perShard: number): Promise<ShardFile[]> {
  const files: ShardFile[] = [];
  for (let start = 0; start < p.video.frameCount; start += perShard) {
    const end = Math.min(p.video.frameCount, start + perShard);
    const recipe = { src, size: (await stat(src)).size, start, end, preset: 'ultrafast' };
    const path = await cached(`assemble-shard-${start}-${end}-{key}.nut`, recipe, async (tmp) => {
      await encodeShard(extractFrames({ input: src, probe: p, start, end }), { output: tmp, width: p.video.displayWidth, height: p.video.displayHeight, format: rgbFormatFor(p), ...sourceTiming(p, start, end), codec: 'h264', preset: 'ultrafast' });
    });
    files.push({ path, start, end });
  }
  return files;
}

interface Row {
  seconds: number;
  shards: number;
  shardMiB: number;
  outputMiB: number;
  assembleSeconds: number;
  checkSeconds: number;
  muxSeconds: number;
  verifySeconds: number;
  packets: number;
  packetsCopied: boolean;
  codec: string;
}

/** Runs the section; returns its JSON. */
export async function assembleBench(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args: argv, options: { seconds: { type: 'string', default: '15,30,60' }, 'shard-seconds': { type: 'string', default: '15' }, size: { type: 'string', default: '640x480' } }, allowPositionals: false });
  const lengths = values.seconds.split(',').map(Number).sort((a, b) => a - b);
  if (lengths.some((s) => !Number.isFinite(s) || s <= 0)) throw new Error(`--seconds: positive numbers separated by commas, got ${values.seconds}`);
  const shardSeconds = Number(values['shard-seconds']);
  // Shards are cut from the longest source; the first frames of the shorter ones are the same frames.
  const longest = await source(lengths.at(-1) ?? 60, values.size);
  const longProbe = await probe(longest);
  const fps = longProbe.video.frameCount / longProbe.video.duration;
  const work = await mkdtemp(join(tmpdir(), 'assemble-bench-'));
  const rows: Row[] = [];
  try {
    for (const seconds of lengths) {
      const src = await source(seconds, values.size);
      const p = await probe(src);
      const shards = await shardFiles(longest, longProbe, Math.round(shardSeconds * fps)).then((s) => s.filter((f) => f.start < p.video.frameCount));
      const last = shards.at(-1);
      if (last === undefined || last.end !== p.video.frameCount) {
        // The source is not a whole number of shards: cut its own last shard.
        const own = await shardFiles(src, p, Math.round(shardSeconds * fps));
        shards.splice(0, shards.length, ...own);
      }
      const output = join(work, `out-${seconds}.mp4`);
      const began = performance.now();
      const r = await assemble({ source: src, probe: p, shards, output });
      const assembleSeconds = (performance.now() - began) / 1000;
      // Stream copy keeps every packet: the same count, and the same decoded frames bit for bit
      // (a re-encode of lossy H.264 changes them). Packet sizes differ by container framing alone
      // (Annex B start codes in NUT, length prefixes in MP4), so they are not compared.
      const shardPackets = (await Promise.all(shards.map((s) => packetCount(s.path)))).reduce((a, b) => a + b, 0);
      const outPackets = await packetCount(output);
      const shardFrames = (await Promise.all(shards.map((s) => frameHashes(s.path)))).flat();
      const outFrames = await frameHashes(output);
      const shardBytes = (await Promise.all(shards.map((s) => stat(s.path)))).reduce((n, s) => n + s.size, 0);
      rows.push({
        seconds,
        shards: shards.length,
        shardMiB: shardBytes / 2 ** 20,
        outputMiB: r.bytes / 2 ** 20,
        assembleSeconds,
        checkSeconds: r.checkMs / 1000,
        muxSeconds: r.muxMs / 1000,
        verifySeconds: r.verifyMs / 1000,
        packets: outPackets,
        packetsCopied: outPackets === shardPackets && outFrames.length === shardFrames.length && outFrames.every((h, i) => h === shardFrames[i]),
        codec: await videoCodec(output),
      });
      await rm(output, { force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const fit = fitLine(rows.map((r) => [r.outputMiB, r.assembleSeconds]));
  console.log(`Assembly of ${values.size} H.264 + AAC, ${shardSeconds} s shards (assemble(): check, concat stream copy + source audio, verify)`);
  console.log('  source   shards  shard MiB  output MiB   seconds (check/mux/verify)      packets copied');
  for (const r of rows) {
    console.log(`  ${`${r.seconds} s`.padEnd(9)}${String(r.shards).padStart(6)}${r.shardMiB.toFixed(1).padStart(11)}${r.outputMiB.toFixed(1).padStart(12)}${r.assembleSeconds.toFixed(2).padStart(10)} (${r.checkSeconds.toFixed(2)}/${r.muxSeconds.toFixed(2)}/${r.verifySeconds.toFixed(2)})      ${r.packetsCopied ? `yes: ${r.packets} ${r.codec} packets, frames bit-identical` : 'NO (re-encoded or changed)'}`);
  }
  console.log(`  fit: seconds = ${fit.intercept.toFixed(2)} + ${fit.slope.toFixed(3)} x MiB (r^2 ${fit.r2.toFixed(3)}; largest point off the line by ${(100 * fit.maxRelativeResidual).toFixed(0)} %)`);
  console.log('  scratch disk: S3 output: every shard staged + the output = shard bytes + output bytes (~2x output); local output: shards hard-linked, the output written beside it (~1x)');
  for (const r of rows) console.log(`    ${r.seconds} s: ${(r.shardMiB + r.outputMiB).toFixed(1)} MiB for an S3 output`);
  if (rows.some((r) => !r.packetsCopied)) throw new Error('assembly changed the shards\' video packets: it re-encoded');
  return { bench: 'assemble', size: values.size, shardSeconds, rows, fit };
}

if (import.meta.main) console.log(JSON.stringify(await assembleBench(process.argv.slice(2))));
