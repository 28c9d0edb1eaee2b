/**
 * Which ffmpeg builds the media room supports, decided from the `ffmpeg -version` / `ffprobe -version`
 * text alone, which every run without `-hide_banner` also prints as its banner (pure; `ffmpeg-check.ts`
 * reads it from the banner of a table run). The minimum is 5.1
 * (Debian 12); 6.1 (Ubuntu 24.04), 7.1 (Debian 13) and 8.x (Homebrew) are tested or known to work.
 *
 * A release build names its version on the first line (`ffmpeg version 5.1.9-0+deb12u1`,
 * `n7.1.1`, `8.0`). A build from git does not (`N-118448-g4e4ff4e0b0`, `2024-11-07-git-...`), so
 * its libavcodec version decides: 59.37 is the libavcodec of 5.1.0.
 */

/** The oldest supported release. */
export const MIN_RELEASE = { major: 5, minor: 1 } as const;
/** libavcodec of {@link MIN_RELEASE}, for builds without a release number. */
export const MIN_LIBAVCODEC = { major: 59, minor: 37 } as const;

export interface MajorMinor {
  major: number;
  minor: number;
}

export interface FfmpegVersion {
  /** The version token of the first line, as printed (`5.1.9-0+deb12u1`, `N-118448-g4e4ff4e0b0`). */
  version: string;
  /** Release number when the token is one. */
  release?: MajorMinor;
  /** libavcodec's major.minor from the library lines. */
  libavcodec?: MajorMinor;
}

/** Reads the `-version` output of ffmpeg or ffprobe; undefined when it is not such output. */
export function parseFfmpegVersion(output: string): FfmpegVersion | undefined {
  const first = /^(?:ffmpeg|ffprobe) version (\S+)/m.exec(output);
  if (!first?.[1]) return undefined;
  const version = first[1];
  const out: FfmpegVersion = { version };
  const rel = /^n?(\d+)\.(\d+)(?:\.\d+)*(?:[-+~_].*)?$/.exec(version);
  if (rel) out.release = { major: Number(rel[1]), minor: Number(rel[2]) };
  const lib = /^\s*libavcodec\s+(\d+)\.\s*(\d+)\./m.exec(output);
  if (lib) out.libavcodec = { major: Number(lib[1]), minor: Number(lib[2]) };
  return out;
}

/**
 * Why this build cannot be used, or undefined when it can. `tool` and `path` name the binary in the
 * message (`ffmpeg at /usr/bin/ffmpeg`), which also says what to do.
 */
export function unsupportedReason(tool: string, path: string, output: string): string | undefined {
  const fix = `install ffmpeg ${MIN_RELEASE.major}.${MIN_RELEASE.minor} or later, or point ${envVarFor(tool)} at one`;
  const v = parseFfmpegVersion(output);
  const firstLine = output.split('\n', 1)[0]?.trim() ?? '';
  if (v === undefined) return `${tool} at ${path} printed no version (first line of its banner: "${firstLine.slice(0, 120)}"); ${fix}`;
  if (v.release !== undefined) {
    if (atLeast(v.release, MIN_RELEASE)) return undefined;
    return `${tool} at ${path} is version ${v.version}; the minimum is ${MIN_RELEASE.major}.${MIN_RELEASE.minor}: ${fix}`;
  }
  if (v.libavcodec === undefined) return `${tool} at ${path} (version ${v.version}) prints no libavcodec version, so its age is unknown; ${fix}`;
  if (atLeast(v.libavcodec, MIN_LIBAVCODEC)) return undefined;
  const lib = `${v.libavcodec.major}.${v.libavcodec.minor}`;
  return `${tool} at ${path} is version ${v.version} with libavcodec ${lib}; the minimum is ffmpeg ${MIN_RELEASE.major}.${MIN_RELEASE.minor} (libavcodec ${MIN_LIBAVCODEC.major}.${MIN_LIBAVCODEC.minor}): ${fix}`;
}

/** The variable that selects the binary (fluent-ffmpeg reads the same two). */
export function envVarFor(tool: string): string {
  return tool === 'ffprobe' ? 'FFPROBE_PATH' : 'FFMPEG_PATH';
}

function atLeast(v: MajorMinor, min: MajorMinor): boolean {
  return v.major > min.major || (v.major === min.major && v.minor >= min.minor);
}
