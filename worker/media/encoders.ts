/**
 * Encoder choice and settings per codec. Shards are concatenated without re-encoding, so every
 * shard of a job must come out of the same encoder with the same settings (identical parameter
 * sets; assembly checks the extradata hash) and start with an IDR/key frame (every encoder's first
 * frame is one). x264 gets `stitchable` so its headers do not depend on the shard's content; x265
 * and SVT-AV1 get closed GOPs. Choose the encoder once per job (see {@link chooseEncoder}) and pass
 * the same {@link EncoderChoice} to every shard.
 */
import type { Logger } from 'pino';
import { MediaError } from './errors.ts';
import { startFfmpeg } from './ffmpeg-run.ts';
import { encoderTableRun, parseEncoderTable } from './ffmpeg-tables.ts';
import { mayHaveNvenc } from './nvenc-presence.ts';
import { CPU_ENCODERS, NVENC_ENCODERS } from './encode-rules.ts';
import type { VideoCodec } from './video-codecs.ts';

export { VIDEO_CODECS, type VideoCodec } from './video-codecs.ts';

/** `auto`: NVENC when this ffmpeg has it and a GPU accepts a test encode, else CPU. */
export type EncoderHardware = 'auto' | 'cpu' | 'nvenc';

export interface EncoderChoice {
  codec: VideoCodec;
  /** ffmpeg encoder name, e.g. `libx264` or `hevc_nvenc`. */
  encoder: string;
}

export interface EncoderSettings {
  /** Quality: CRF for x264/x265/SVT-AV1, CQ for NVENC; ignored by lossless ffv1. */
  crf?: number;
  /** Encoder preset (x264/x265 names, SVT-AV1 0-13, NVENC p1-p7). */
  preset?: string;
  /**
   * The frame rate SVT-AV1 is told (its rate control needs one). ffmpeg 7.x no longer passes the
   * input rate once a filter sets the time base, so libsvtav1 derives 1/time_base (e.g. 12800 fps),
   * which SVT-AV1 2.x refuses ("bad parameter"); given here, it travels in `-svtav1-params`.
   */
  frameRate?: { num: number; den: number };
}

const nvencWorks = new Map<string, Promise<boolean>>();

/** Encoders this ffmpeg build has (`ffmpeg -encoders`, run once per process: ffmpeg-tables.ts). */
export async function availableEncoders(): Promise<Set<string>> {
  return new Set(parseEncoderTable((await encoderTableRun()).stdout).keys());
}

/**
 * True when `encoder` (an NVENC encoder) really encodes here: present in the build AND a GPU with
 * NVENC accepts a two-frame test encode (H100/H200 have no NVENC, so this is false there). Without
 * an NVIDIA device node there is no test encode: it could not succeed.
 */
export function nvencUsable(encoder: string): Promise<boolean> {
  let p = nvencWorks.get(encoder);
  if (!p) {
    p = (async () => {
      if (!mayHaveNvenc() || !(await availableEncoders()).has(encoder)) return false;
      const job = startFfmpeg({
        inputs: [{ source: 'color=c=black:s=256x144:r=25', options: ['-f', 'lavfi'] }],
        output: '-',
        outputOptions: ['-frames:v', '2', '-c:v', encoder, '-f', 'null'],
      });
      return job.done.then(
        () => true,
        () => false,
      );
    })();
    nvencWorks.set(encoder, p);
  }
  return p;
}

/** Picks the encoder for a codec; logs when NVENC was wanted but the CPU encoder is used. */
export async function chooseEncoder(codec: VideoCodec, hardware: EncoderHardware = 'auto', log?: Logger): Promise<EncoderChoice> {
  const nv = NVENC_ENCODERS[codec];
  if (hardware !== 'cpu' && nv !== undefined) {
    if (await nvencUsable(nv)) return { codec, encoder: nv };
    if (hardware === 'nvenc') {
      throw new MediaError('EncoderUnavailable', 'encode', nv, 'NVENC is not usable here (no NVENC in this ffmpeg build or no GPU with NVENC; H100/H200 have none)');
    }
    log?.info({ codec, wanted: nv, using: CPU_ENCODERS[codec] }, 'Fell back to the CPU encoder: NVENC is not usable on this machine');
  } else if (hardware === 'nvenc') {
    throw new MediaError('EncoderUnavailable', 'encode', codec, `there is no NVENC encoder for ${codec}`);
  }
  const cpu = CPU_ENCODERS[codec];
  if (!(await availableEncoders()).has(cpu)) {
    throw new MediaError('EncoderUnavailable', 'encode', cpu, `this ffmpeg build has no ${cpu} encoder`);
  }
  return { codec, encoder: cpu };
}

/** The default output pixel format: 4:2:0, 10 bits when the frames carry more than 8. */
export function defaultPixFmt(_codec: VideoCodec, deep: boolean): string {
  return deep ? 'yuv420p10le' : 'yuv420p'; // every encoder here takes both
}

/** ffmpeg output options selecting and configuring the encoder. */
export function encoderOptions(choice: EncoderChoice, s: EncoderSettings): string[] {
  const crf = s.crf;
  switch (choice.encoder) {
    case 'libx264':
      return ['-c:v', 'libx264', '-preset', s.preset ?? 'medium', '-crf', String(crf ?? 18), '-x264-params', 'stitchable=1:open-gop=0'];
    case 'libx265':
      return ['-c:v', 'libx265', '-preset', s.preset ?? 'medium', '-crf', String(crf ?? 20), '-x265-params', 'log-level=error:open-gop=0'];
    case 'libsvtav1':
      return ['-c:v', 'libsvtav1', '-preset', s.preset ?? '8', '-crf', String(crf ?? 30), '-svtav1-params', svtav1Params(s.frameRate)];
    case 'ffv1':
      // Level 3 with per-slice CRCs, every frame intra: a robust lossless intermediate.
      return ['-c:v', 'ffv1', '-level', '3', '-g', '1', '-slicecrc', '1'];
    case 'h264_nvenc':
    case 'hevc_nvenc':
      return ['-c:v', choice.encoder, '-preset', s.preset ?? 'p5', '-rc', 'vbr', '-cq', String(crf ?? 21), '-b:v', '0'];
    default:
      throw new MediaError('InvalidOptions', 'encode', choice.encoder, 'unknown encoder');
  }
}

/** SVT-AV1's own parameters: closed GOPs (shards stitch), and the frame rate when known. */
function svtav1Params(rate: EncoderSettings['frameRate']): string {
  return rate && rate.num > 0 && rate.den > 0 ? `irefresh-type=2:fps-num=${rate.num}:fps-denom=${rate.den}` : 'irefresh-type=2';
}
