/**
 * What each output container can hold, and what assembly does with every source stream: copy it,
 * convert it (subtitles to the container's text format, audio to a codec it accepts) or drop it
 * with a warning. Pure: decided from the probe and the output name before ffmpeg runs.
 */
import { extname } from 'node:path';
import type { VideoCodec } from './encoders.ts';
import type { Probe } from './probe-schema.ts';

export type ContainerKind = 'mp4' | 'mov' | 'mkv' | 'webm';

export interface Container {
  kind: ContainerKind;
  /** ffmpeg muxer name for `-f`. */
  muxer: string;
  /** Move the index to the front (`-movflags +faststart`): MP4 and MOV. */
  faststart: boolean;
}

const CONTAINERS: Record<string, Container> = {
  '.mp4': { kind: 'mp4', muxer: 'mp4', faststart: true },
  '.m4v': { kind: 'mp4', muxer: 'mp4', faststart: true },
  '.mov': { kind: 'mov', muxer: 'mov', faststart: true },
  '.mkv': { kind: 'mkv', muxer: 'matroska', faststart: false },
  '.webm': { kind: 'webm', muxer: 'webm', faststart: false },
};

/** The container for an output name, from its extension; undefined for an unsupported one. */
export function containerFor(output: string): Container | undefined {
  return CONTAINERS[extname(output.replace(/[?#].*$/, '')).toLowerCase()];
}

/** Supported output extensions, for messages. */
export const OUTPUT_EXTENSIONS: readonly string[] = Object.keys(CONTAINERS);

const VIDEO: Record<ContainerKind, readonly VideoCodec[]> = {
  mp4: ['h264', 'hevc', 'av1'],
  mov: ['h264', 'hevc', 'ffv1'],
  mkv: ['h264', 'hevc', 'av1', 'ffv1'],
  webm: ['av1'],
};

/** Codecs a container accepts for the (re-encoded) video stream. */
export function videoCodecsFor(kind: ContainerKind): readonly VideoCodec[] {
  return VIDEO[kind];
}

const AUDIO_COPY: Record<ContainerKind, readonly string[] | 'all'> = {
  mp4: ['aac', 'mp3', 'ac3', 'eac3', 'opus', 'alac'],
  mov: ['aac', 'mp3', 'ac3', 'eac3', 'alac', 'pcm_s16le', 'pcm_s16be', 'pcm_s24le', 'pcm_s24be', 'pcm_s32le', 'pcm_f32le'],
  mkv: 'all',
  webm: ['opus', 'vorbis'],
};
const LOSSLESS_AUDIO = /^(flac|alac|pcm_|truehd|mlp|wavpack|tta)/;
const TEXT_SUBS = new Set(['subrip', 'srt', 'ass', 'ssa', 'webvtt', 'mov_text', 'text']);

export type StreamAction =
  | { index: number; kind: 'audio' | 'subtitle'; action: 'copy' }
  | {
      index: number;
      kind: 'audio' | 'subtitle';
      action: 'convert';
      encoder: string;
      from: string;
      /** Opus: the channel layout to remix to first (`aformat`), or `discrete` for over 8 channels kept without positions (mapping family 255). */
      channels?: { layout: string } | 'discrete';
    };

export interface StreamPlan {
  streams: StreamAction[];
  /** Human-readable notes for streams converted or dropped. */
  warnings: string[];
  /** Attachments (fonts for ASS subtitles) are kept in Matroska only. */
  attachments: boolean;
}

/**
 * libopus takes only the Vorbis channel layouts (RFC 7845 mapping family 1) and refuses the rest
 * when it opens ("Invalid channel layout 5.1(side)"): AC-3, E-AC-3, DTS and TrueHD 5.1 are
 * 5.1(side). Such a source is remixed to the Vorbis layout with as many channels (side and back
 * speakers swap exactly; swresample mixes the rest); over 8 channels are kept as discrete channels.
 */
const OPUS_LAYOUTS = ['mono', 'stereo', '3.0', 'quad', '5.0', '5.1', '6.1', '7.1'] as const;

function opusChannels(a: Pick<Probe['audio'][number], 'channels' | 'channelLayout'>): { layout: string } | 'discrete' | undefined {
  const n = a.channels ?? 0;
  if (n > OPUS_LAYOUTS.length) return 'discrete';
  const layout = a.channelLayout ?? null;
  // An unknown layout: libopus takes the Vorbis one for its channel count.
  if (layout === null || (OPUS_LAYOUTS as readonly string[]).includes(layout)) return undefined;
  const target = OPUS_LAYOUTS[n - 1];
  return target === undefined ? undefined : { layout: target };
}

/** Decides copy/convert/drop for every audio and subtitle stream of the source. */
export function planStreams(probe: Pick<Probe, 'audio' | 'subtitles'>, kind: ContainerKind): StreamPlan {
  const streams: StreamAction[] = [];
  const warnings: string[] = [];
  for (const a of probe.audio) {
    const ok = AUDIO_COPY[kind];
    if (ok === 'all' || ok.includes(a.codec)) {
      streams.push({ index: a.index, kind: 'audio', action: 'copy' });
      continue;
    }
    const encoder = kind === 'webm' ? 'libopus' : LOSSLESS_AUDIO.test(a.codec) ? 'alac' : 'aac';
    const channels = encoder === 'libopus' ? opusChannels(a) : undefined;
    streams.push({ index: a.index, kind: 'audio', action: 'convert', encoder, from: a.codec, ...(channels ? { channels } : {}) });
    const as = channels === undefined ? '' : channels === 'discrete' ? ` as ${a.channels} channels without positions (Opus names at most 8)` : ` as ${channels.layout} (from ${a.channelLayout ?? `${a.channels} channels`})`;
    warnings.push(`audio stream ${a.index} (${a.codec}) converted to ${encoder}${as}: ${kind} cannot hold ${a.codec}`);
  }
  for (const s of probe.subtitles) {
    // Matroska holds every subtitle format but mov_text; MP4/MOV only mov_text; WebM only WebVTT.
    const target = kind === 'mkv' ? (s.codec === 'mov_text' ? 'srt' : s.codec) : kind === 'webm' ? 'webvtt' : 'mov_text';
    if (target === s.codec) {
      streams.push({ index: s.index, kind: 'subtitle', action: 'copy' });
    } else if (TEXT_SUBS.has(s.codec)) {
      streams.push({ index: s.index, kind: 'subtitle', action: 'convert', encoder: target, from: s.codec });
      warnings.push(`subtitle stream ${s.index} (${s.codec}) converted to ${target} for ${kind}`);
    } else {
      warnings.push(`subtitle stream ${s.index} (${s.codec}) dropped: ${kind} cannot hold image subtitles`);
    }
  }
  return { streams, warnings, attachments: kind === 'mkv' };
}
