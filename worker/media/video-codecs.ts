/**
 * The video codecs a job can ask for. A module of its own, without ffmpeg: the task and CRD
 * schemas need the list, and the operator, which loads those, must not load the encoder code.
 */
export type VideoCodec = 'h264' | 'hevc' | 'av1' | 'ffv1';
export const VIDEO_CODECS: readonly VideoCodec[] = ['h264', 'hevc', 'av1', 'ffv1'];
