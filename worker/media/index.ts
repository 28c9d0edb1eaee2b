/**
 * The media room: the only code that runs ffmpeg/ffprobe. Steps import from here.
 *
 * Typical shard step:
 *   const frames = extractFrames({ input, probe, start, end });           // rgb24/rgb48le Buffers
 *   const upscaled = engine.run(frames);                                   // same count, scaled size
 *   await encodeShard(upscaled, { output, width: w * s, height: h * s, format: rgbFormatFor(probe),
 *     pts: ptsList(probe.frames, start, end), timeBase: probe.video.timeBase,
 *     frameRate: probe.video.rFrameRate, codec: encoderChoice, color: probe.video, sar: probe.video.sar });
 */
export { assemble, type AssembleOptions, type AssembleResult, type ShardFile } from './assemble.ts';
export { containerFor, OUTPUT_EXTENSIONS, videoCodecsFor, type Container, type ContainerKind } from './container-policy.ts';
export { assumedColour, colourTagOptions, outputColour, sourceColour, type Colour, type SourceColourFacts } from './colour.ts';
export { encodeShard, type EncodeOptions, type EncodeResult, type FrameLike } from './encode.ts';
export { chooseEncoder, nvencUsable, VIDEO_CODECS, type EncoderChoice, type EncoderHardware, type VideoCodec } from './encoders.ts';
export { isMediaError, MediaError, type MediaErrorCode, type MediaStep } from './errors.ts';
export { extractFrames, type ExtractOptions, type ExtractStats, type Frame } from './extract.ts';
export { DEINTERLACE_CHOICES, deinterlaceFilters, isInterlaced, type DeinterlaceMode } from './interlace.ts';
export { frameCount, keyframeAtOrBefore, ptsAt, ptsList, type FrameIndex } from './frame-index.ts';
export { displayName, isUrlInput } from './input-policy.ts';
export { probe, probeSummary, type ProbeOptions } from './probe.ts';
export { probeSchema, type Probe, type Rational } from './probe-schema.ts';
export { bytesPerPixel, frameBytes, rgbFormatFor, type RgbFormat } from './raw-format.ts';
