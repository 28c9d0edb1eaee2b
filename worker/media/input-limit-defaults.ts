/**
 * The default input limits (input-limits.ts), apart from their schema: the launcher builds the
 * probe's first pass with them before zod loads (probe-args.ts, bin/ffmpeg-prefetch.ts).
 */

/** 8192 x 8192 (64 MP): the largest H.264/HEVC level's picture, 4x an 8K UHD frame. */
export const DEFAULT_MAX_PIXELS = 8192 * 8192;
/** Audio plus subtitle streams kept from a source. */
export const DEFAULT_MAX_STREAMS = 64;
/** ffmpeg's own ceiling (av_image_check_size: (w+128)(h+128) < 2^31/8); a larger limit means nothing. */
export const FFMPEG_MAX_PIXELS = 2 ** 28;
