/**
 * Test helpers for the models' image tests: decode real images with ffmpeg, run a built ONNX model
 * with onnxruntime-node (CPU), run the independent ncnn reference, and compare with PSNR.
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from '../io-contract.ts';

const run = promisify(execFile);

/** Folder of the shared test images (Real-ESRGAN's test data): $UPSCALE_TESTDATA/images, default ../shared/testdata beside the repo. */
export const TEST_IMAGES_DIR = join(process.env['UPSCALE_TESTDATA'] ?? fileURLToPath(new URL('../../../shared/testdata/', import.meta.url)), 'images');

/** A packed RGB24 image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

const probeSchema = z.object({ streams: z.array(z.object({ width: z.number(), height: z.number() })).length(1) });

/** Decodes an image file to RGB24 with ffmpeg, optionally resized with the given swscale flags. */
export async function decodeRgb(path: string, resize?: { scale: number; flags: string }): Promise<RgbImage> {
  const probe = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'json', path]);
  const stream = probeSchema.parse(JSON.parse(probe.stdout)).streams[0];
  if (stream === undefined) throw new Error(`no video stream in ${path}`);
  const width = stream.width * (resize?.scale ?? 1);
  const height = stream.height * (resize?.scale ?? 1);
  const filter = resize === undefined ? [] : ['-vf', `scale=${width}:${height}:flags=${resize.flags}`];
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', path, ...filter, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    encoding: 'buffer',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (stdout.byteLength !== width * height * 3) throw new Error(`ffmpeg gave ${stdout.byteLength} bytes for ${width}x${height} RGB24 from ${path}`);
  return { width, height, data: new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength) };
}

/** The real sample clip (anime footage): $UPSCALE_TESTDATA/onepiece_demo.mp4. */
export const SAMPLE_CLIP = join(TEST_IMAGES_DIR, '..', 'onepiece_demo.mp4');

/** Decodes frame `index` (0-based, in decode order) of a video to RGB24 with ffmpeg. */
export async function decodeVideoFrame(path: string, index: number): Promise<RgbImage> {
  const probe = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'json', path]);
  const stream = probeSchema.parse(JSON.parse(probe.stdout)).streams[0];
  if (stream === undefined) throw new Error(`no video stream in ${path}`);
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', path, '-vf', `select=eq(n\\,${index})`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    encoding: 'buffer',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (stdout.byteLength !== stream.width * stream.height * 3) throw new Error(`ffmpeg gave ${stdout.byteLength} bytes for frame ${index} (${stream.width}x${stream.height} RGB24) of ${path}`);
  return { width: stream.width, height: stream.height, data: new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength) };
}

/** A rectangular crop of an image. */
export function crop(image: RgbImage, x: number, y: number, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * image.width + x) * 3;
    data.set(image.data.subarray(from, from + width * 3), row * width * 3);
  }
  return { width, height, data };
}

/** PSNR in dB between two images of equal size (Infinity when identical). */
export function psnr(a: RgbImage, b: RgbImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`PSNR of ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = (a.data[i] ?? 0) - (b.data[i] ?? 0);
    sum += d * d;
  }
  const mse = sum / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** Largest absolute difference between corresponding samples of two images of equal size. */
export function maxAbsDiff(a: RgbImage, b: RgbImage): number {
  if (a.data.length !== b.data.length) throw new Error(`comparing ${a.width}x${a.height} with ${b.width}x${b.height}`);
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs((a.data[i] ?? 0) - (b.data[i] ?? 0)));
  return max;
}

/**
 * Mean absolute difference between horizontally and vertically neighbouring samples: a simple
 * measure of edge sharpness and texture (blurry upscales score low).
 */
export function meanGradient(image: RgbImage): number {
  const { width, height, data } = image;
  const row = width * 3;
  let sum = 0;
  for (let y = 0; y < height - 1; y++) {
    for (let i = y * row; i < y * row + row - 3; i++) {
      const v = data[i] ?? 0;
      sum += Math.abs(v - (data[i + 3] ?? 0)) + Math.abs(v - (data[i + row] ?? 0));
    }
  }
  return sum / (2 * (width - 1) * (height - 1) * 3);
}

/** Runs one image through an ONNX model on the CPU execution provider. */
export async function runOnnx(session: ort.InferenceSession, image: RgbImage): Promise<RgbImage> {
  const input = new ort.Tensor('uint8', image.data, [1, image.height, image.width, 3]);
  const result = await session.run({ [MODEL_INPUT_NAME]: input });
  const output = result[MODEL_OUTPUT_NAME];
  if (output === undefined) throw new Error(`model has no output "${MODEL_OUTPUT_NAME}"`);
  const [n, height, width, c] = output.dims;
  if (n !== 1 || c !== 3 || height === undefined || width === undefined) throw new Error(`unexpected output shape ${output.dims.join('x')}`);
  return { width, height, data: output.data as Uint8Array };
}

/** Opens a CPU session with the thread count kept small (the test machine is shared). */
export async function openCpuSession(path: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, { executionProviders: ['cpu'], intraOpNumThreads: 2, interOpNumThreads: 1 });
}

const REFERENCE_SCRIPT = fileURLToPath(new URL('../reference/ncnn_ref.py', import.meta.url));

/** Runs the independent ncnn (PyPI `ncnn`) reference on an image; returns its RGB24 output. */
export async function runNcnnReference(paramPath: string, binPath: string, image: RgbImage, scale: number): Promise<RgbImage> {
  const python = process.env['PYTHON'] ?? 'python3';
  const child = spawn(python, [REFERENCE_SCRIPT, paramPath, binPath, String(image.width), String(image.height)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  const errors: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stderr.on('data', (c: Buffer) => errors.push(c));
  child.stdin.end(image.data);
  const setup = 'the ncnn reference needs Python 3 with `pip install ncnn==1.0.20261020` ($PYTHON picks the interpreter)';
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (cause) => reject(new Error(`running ${python} ${REFERENCE_SCRIPT}: ${cause.message}; ${setup}`, { cause })));
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`ncnn reference (${python} ${REFERENCE_SCRIPT}) exited ${code}: ${Buffer.concat(errors).toString().trim()}; ${setup}`);
  const data = Buffer.concat(chunks);
  const width = image.width * scale;
  const height = image.height * scale;
  if (data.byteLength !== width * height * 3) throw new Error(`ncnn reference gave ${data.byteLength} bytes, expected ${width}x${height} RGB24`);
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
