/**
 * Which ffmpeg encoder a codec gets and what each encoder takes (presets, quality range). One
 * table for the encoders (encoders.ts), `upscale run`'s checks before any work
 * (output-decision.ts) and the UpscaleJob API's rules (operator/api), so `kubectl apply` refuses
 * what `upscale run` refuses at start. No ffmpeg here: the operator loads it.
 */
import type { VideoCodec } from './video-codecs.ts';

/** The CPU encoder of each codec. */
export const CPU_ENCODERS: Readonly<Record<VideoCodec, string>> = { h264: 'libx264', hevc: 'libx265', av1: 'libsvtav1', ffv1: 'ffv1' };
/** The NVENC encoder of each codec that has one. */
export const NVENC_ENCODERS: Readonly<Partial<Record<VideoCodec, string>>> = { h264: 'h264_nvenc', hevc: 'hevc_nvenc' };

export const X26X_PRESETS: readonly string[] = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo'];
export const NVENC_PRESETS: readonly string[] = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'];
export const SVT_PRESETS: readonly string[] = Array.from({ length: 14 }, (_, i) => String(i));

export interface EncoderRules {
  presets: readonly string[];
  /** Inclusive range of `crf` (NVENC: its constant quality level). */
  crf: readonly [number, number];
  quality: 'CRF' | 'CQ';
}

/** Presets and quality range per ffmpeg encoder; `undefined` = the encoder takes neither (lossless). */
export const ENCODER_RULES: Readonly<Record<string, EncoderRules | undefined>> = {
  libx264: { presets: X26X_PRESETS, crf: [0, 51], quality: 'CRF' },
  libx265: { presets: X26X_PRESETS, crf: [0, 51], quality: 'CRF' },
  libsvtav1: { presets: SVT_PRESETS, crf: [0, 63], quality: 'CRF' },
  h264_nvenc: { presets: NVENC_PRESETS, crf: [0, 51], quality: 'CQ' },
  hevc_nvenc: { presets: NVENC_PRESETS, crf: [0, 51], quality: 'CQ' },
  ffv1: undefined,
};

/** A preset list as messages show it: `0-13` for SVT-AV1, else the names. */
export function presetList(presets: readonly string[]): string {
  return presets === SVT_PRESETS ? '0-13' : presets.join(', ');
}
