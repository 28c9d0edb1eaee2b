/**
 * Benchmark (not a test): assembly time against output size and packet count. Sources of 15, 30 and
 * 60 s (the test footage looped, H.264 with an AAC tone, at each `--size`; made once and cached
 * under `.cache/bench/`, keyed by their recipe) are cut into 15 s shards (identity upscale, the shard
 * step's own encoder) and joined by the assemble step's `assemble()` (concat demuxer, stream copy,
 * the source's audio, verification). The shards come with the facts their manifests would record
 * (the shard step's read-back, `inspectShard`, taken untimed), as the assemble step passes them;
 * `--inspect-shards` leaves them out, so `assemble()` inspects every shard itself (manifests of older
 * workers). Printed per size and length: output MiB, video packets, seconds (check / mux / verify),
 * and whether the output's video packets are the shards' (ffprobe: the same packet count, and every
 * decoded frame's MD5 equal: a re-encode would change them), wall seconds (median of `--repeat`)
 * and CPU seconds; then per size a least-squares line
 * seconds = a + b x MiB, and over all sizes a plane seconds = a + b x MiB + c x 1,000 packets: a
 * larger frame size has more bytes per packet, so the two separate (one size alone cannot tell them
 * apart); then the scratch disk the step needs.
 *
 *   node test/bench/assemble-bench.ts [--seconds 15,30,60] [--shard-seconds 15] [--size 640x480[,1920x1080]] [--repeat 3] [--inspect-shards]
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs, promisify } from 'node:util';
import pino from 'pino';
import { assemble, type AssembleShard, type ShardFile } from '../../worker/media/assemble.ts';
import { encodeShard, sourceTiming } from '../../worker/media/encode.ts';
import { extractFrames } from '../../worker/media/extract.ts';
import { inspectShard } from '../../worker/media/inspect.ts';
import { probe } from '../../worker/media/probe.ts';
import type { Probe } from '../../worker/media/probe-schema.ts';
import { rgbFormatFor } from '../../worker/media/raw-format.ts';
import { REPO, sourceVideo, videoFramemd5 } from '../fixtures/clips.ts';
import { fitLine, fitPlane, type LineFit, type PlaneFit } from './fit.ts';

const run = promisify(execFile);
const CACHE = join(REPO, '.cache', 'bench');

/**
 * CPU seconds used so far by this process and its finished children (ffmpeg, ffprobe), from
 * `/proc/self/stat` (utime, stime, cutime, cstime in clock ticks of 1/100 s); NaN off Linux. On a
 * shared machine the wall time of a step swings with the load; its CPU time does not, and on an
 * idle pod a serial chain of processes takes about its CPU time.
 */
async function cpuSeconds(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces) start at field 3, the state.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].map((i) => Number(fields[i]));
  return ticks.every(Number.isFinite) ? ticks.reduce((a, b) => a + b, 0) / 100 : NaN;
}

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
  size: string;
  seconds: number;
  shards: number;
  shardMiB: number;
  outputMiB: number;
  /** Wall seconds of `assemble()` (the median of `--repeat` runs) and its CPU seconds (Node and its children). */
  assembleSeconds: number;
  cpuSeconds: number;
  checkSeconds: number;
  muxSeconds: number;
  verifySeconds: number;
  /** Streamed (`arriving`): wall seconds from the last shard landing (the mux waiting at it) to the published output. */
  streamedTailSeconds: number;
  packets: number;
  packetsCopied: boolean;
  codec: string;
}

/**
 * One streamed assembly of `shards`: all but the last are ready at once, the last only once the mux
 * has reached it (its "Mux reached shard" line); returns the seconds from then to the published output.
 */
async function streamedTail(src: string, p: Probe, shards: readonly AssembleShard[], output: string): Promise<number> {
  const last = shards.at(-1) as AssembleShard;
  let reached!: () => void;
  const atLast = new Promise<void>((resolve) => (reached = resolve));
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.includes('"Mux reached shard"') && line.includes(`"shard":[${last.start},${last.end}]`)) reached();
      }
      done();
    },
  });
  let release!: () => void;
  const landed = new Promise<void>((resolve) => (release = resolve));
  const arriving = shards.map((s) => ({ start: s.start, end: s.end, ready: () => (s === last ? landed.then(() => s) : Promise.resolve(s)) }));
  const assembling = assemble({ source: src, probe: p, shards: [], arriving, output, overwrite: true, log: pino({ level: 'debug' }, sink) });
  await Promise.race([atLast, assembling]);
  const began = performance.now();
  release();
  await assembling;
  return (performance.now() - began) / 1000;
}

/** Assembles each length of one frame size; returns its rows. */
async function sizeRows(size: string, lengths: readonly number[], shardSeconds: number, inspectShards: boolean, repeat: number, work: string): Promise<Row[]> {
  // Shards are cut from the longest source; the first frames of the shorter ones are the same frames.
  const longest = await source(lengths.at(-1) ?? 60, size);
  const longProbe = await probe(longest);
  const fps = longProbe.video.frameCount / longProbe.video.duration;
  const rows: Row[] = [];
  for (const seconds of lengths) {
    const src = await source(seconds, size);
    const p = await probe(src);
    let shards = await shardFiles(longest, longProbe, Math.round(shardSeconds * fps)).then((s) => s.filter((f) => f.start < p.video.frameCount));
    // The source is not a whole number of shards: cut its own.
    if (shards.at(-1)?.end !== p.video.frameCount) shards = await shardFiles(src, p, Math.round(shardSeconds * fps));
    // What the assemble step passes: each shard with the facts its manifest records.
    const joined: AssembleShard[] = inspectShards ? shards : await Promise.all(shards.map(async (f) => ({ ...f, inspection: await inspectShard(f.path, 'assemble') })));
    const output = join(work, `out-${size}-${seconds}.mp4`);
    const runs: { wall: number; cpu: number; r: Awaited<ReturnType<typeof assemble>> }[] = [];
    for (let i = 0; i < repeat; i++) {
      const [began, cpu] = [performance.now(), await cpuSeconds()];
      const r = await assemble({ source: src, probe: p, shards: joined, output, overwrite: true });
      runs.push({ wall: (performance.now() - began) / 1000, cpu: (await cpuSeconds()) - cpu, r });
    }
    const median = runs.sort((a, b) => a.wall - b.wall)[Math.floor(runs.length / 2)];
    if (median === undefined) throw new Error('--repeat must be at least 1');
    // The same shards streamed in as they arrive (waitForShards): what is left once the last one lands.
    const tails: number[] = [];
    for (let i = 0; i < repeat && joined.length > 1; i++) tails.push(await streamedTail(src, p, joined, output));
    const tail = tails.sort((a, b) => a - b)[Math.floor(tails.length / 2)] ?? median.wall;
    const { r } = median;
    // Stream copy keeps every packet: the same count, and the same decoded frames bit for bit
    // (a re-encode of lossy H.264 changes them). Packet sizes differ by container framing alone
    // (Annex B start codes in NUT, length prefixes in MP4), so they are not compared.
    const shardPackets = (await Promise.all(shards.map((s) => packetCount(s.path)))).reduce((a, b) => a + b, 0);
    const outPackets = await packetCount(output);
    const shardFrames = (await Promise.all(shards.map((s) => frameHashes(s.path)))).flat();
    const outFrames = await frameHashes(output);
    const shardBytes = (await Promise.all(shards.map((s) => stat(s.path)))).reduce((n, s) => n + s.size, 0);
    rows.push({
      size,
      seconds,
      shards: shards.length,
      shardMiB: shardBytes / 2 ** 20,
      outputMiB: r.bytes / 2 ** 20,
      assembleSeconds: median.wall,
      cpuSeconds: runs.map((x) => x.cpu).sort((a, b) => a - b)[Math.floor(runs.length / 2)] ?? NaN,
      checkSeconds: r.checkMs / 1000,
      muxSeconds: r.muxMs / 1000,
      verifySeconds: r.verifyMs / 1000,
      streamedTailSeconds: tail,
      packets: outPackets,
      packetsCopied: outPackets === shardPackets && outFrames.length === shardFrames.length && outFrames.every((h, i) => h === shardFrames[i]),
      codec: await videoCodec(output),
    });
    await rm(output, { force: true });
  }
  return rows;
}

/** Runs the section; returns its JSON. */
export async function assembleBench(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: argv,
    options: { seconds: { type: 'string', default: '15,30,60' }, 'shard-seconds': { type: 'string', default: '15' }, size: { type: 'string', default: '640x480' }, 'inspect-shards': { type: 'boolean', default: false }, repeat: { type: 'string', default: '3' } },
    allowPositionals: false,
  });
  const lengths = values.seconds.split(',').map(Number).sort((a, b) => a - b);
  if (lengths.some((s) => !Number.isFinite(s) || s <= 0)) throw new Error(`--seconds: positive numbers separated by commas, got ${values.seconds}`);
  const sizes = values.size.split(',');
  if (sizes.some((s) => !/^\d+x\d+$/.test(s))) throw new Error(`--size: WIDTHxHEIGHT sizes separated by commas, got ${values.size}`);
  const shardSeconds = Number(values['shard-seconds']);
  const repeat = Number(values.repeat);
  if (!(Number.isInteger(repeat) && repeat >= 1)) throw new Error(`--repeat: a whole number >= 1, got ${values.repeat}`);
  const work = await mkdtemp(join(tmpdir(), 'assemble-bench-'));
  const rows: Row[] = [];
  try {
    for (const size of sizes) rows.push(...(await sizeRows(size, lengths, shardSeconds, values['inspect-shards'], repeat, work)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const fits: Record<string, LineFit> = {};
  const planes: Record<string, PlaneFit> = {};
  console.log(`Assembly of H.264 + AAC, ${shardSeconds} s shards (assemble(): check, concat stream copy + source audio, verify; shards ${values['inspect-shards'] ? 'inspected by assemble()' : "with their manifests' facts"}), load average ${loadavg()[0]?.toFixed(1) ?? '?'}`);
  console.log(`  wall seconds: median of ${repeat} runs; CPU: seconds of CPU of this process and its ffmpeg/ffprobe children (the load does not change it)`);
  console.log('  streamed tail: the same shards streamed in as they land (waitForShards), seconds from the last one landing to the published output');
  console.log('  size        source   shards  shard MiB  output MiB  packets  KiB/packet   seconds (check/mux/verify)   CPU s   streamed tail   packets copied');
  for (const r of rows) {
    console.log(`  ${r.size.padEnd(12)}${`${r.seconds} s`.padEnd(9)}${String(r.shards).padStart(6)}${r.shardMiB.toFixed(1).padStart(11)}${r.outputMiB.toFixed(1).padStart(12)}${String(r.packets).padStart(9)}${((r.outputMiB * 1024) / r.packets).toFixed(1).padStart(12)}${r.assembleSeconds.toFixed(2).padStart(10)} (${r.checkSeconds.toFixed(2)}/${r.muxSeconds.toFixed(2)}/${r.verifySeconds.toFixed(2)})${r.cpuSeconds.toFixed(2).padStart(10)}${`${r.streamedTailSeconds.toFixed(2)} (${((100 * r.streamedTailSeconds) / r.assembleSeconds).toFixed(0)} %)`.padStart(16)}   ${r.packetsCopied ? `yes: ${r.codec}, frames bit-identical` : 'NO (re-encoded or changed)'}`);
  }
  if (rows.length > 1) {
    const tailPlane = sizes.length > 1 ? fitPlane(rows.map((r) => [r.outputMiB, r.packets / 1000, r.streamedTailSeconds])) : undefined;
    if (tailPlane !== undefined) {
      planes['streamed tail'] = tailPlane;
      console.log(`  fit, all sizes, streamed tail (wall): seconds = ${tailPlane.intercept.toFixed(2)} + ${tailPlane.a.toFixed(4)} x MiB + ${tailPlane.b.toFixed(4)} x 1,000 packets (r^2 ${tailPlane.r2.toFixed(3)})`);
    }
  }
  for (const size of sizes) {
    const own = rows.filter((r) => r.size === size);
    const fit = fitLine(own.map((r) => [r.outputMiB, r.assembleSeconds]));
    const cpu = fitLine(own.map((r) => [r.outputMiB, r.cpuSeconds]));
    fits[size] = fit;
    fits[`${size} CPU`] = cpu;
    console.log(`  fit ${size}: wall seconds = ${fit.intercept.toFixed(2)} + ${fit.slope.toFixed(4)} x MiB (r^2 ${fit.r2.toFixed(3)}, largest point off by ${(100 * fit.maxRelativeResidual).toFixed(0)} %); CPU seconds = ${cpu.intercept.toFixed(2)} + ${cpu.slope.toFixed(4)} x MiB (r^2 ${cpu.r2.toFixed(3)})`);
  }
  if (sizes.length > 1) {
    for (const [name, y] of [['wall', (r: Row) => r.assembleSeconds], ['CPU', (r: Row) => r.cpuSeconds]] as const) {
      const plane = fitPlane(rows.map((r) => [r.outputMiB, r.packets / 1000, y(r)]));
      planes[name] = plane;
      console.log(`  fit, all sizes, ${name}: seconds = ${plane.intercept.toFixed(2)} + ${plane.a.toFixed(4)} x MiB + ${plane.b.toFixed(4)} x 1,000 packets (r^2 ${plane.r2.toFixed(3)}, largest point off by ${(100 * plane.maxRelativeResidual).toFixed(0)} %)`);
      console.log(`    10 min of 4K at 20 Mbit/s (1,500 MiB, 14,400 packets): ${(plane.a * 1500).toFixed(1)} s for the bytes, ${(plane.b * 14.4).toFixed(1)} s for the packets`);
    }
  }
  console.log('  scratch disk: S3 output: every shard staged + the output = shard bytes + output bytes (~2x output); local output: shards hard-linked, the output written beside it (~1x)');
  for (const r of rows) console.log(`    ${r.size} ${r.seconds} s: ${(r.shardMiB + r.outputMiB).toFixed(1)} MiB for an S3 output`);
  if (rows.some((r) => !r.packetsCopied)) throw new Error('assembly changed the shards\' video packets: it re-encoded');
  return { bench: 'assemble', sizes, shardSeconds, inspectShards: values['inspect-shards'], repeat, loadAverage: loadavg(), rows, fits, planes };
}

if (import.meta.main) console.log(JSON.stringify(await assembleBench(process.argv.slice(2))));
