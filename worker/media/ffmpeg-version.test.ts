import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFfmpegVersion, unsupportedReason } from './ffmpeg-version.ts';

/** The first line and the libavcodec line of `-version`, as each build prints them. */
function output(first: string, libavcodec: string): string {
  return [first, 'built with gcc 12 (Debian 12.2.0-14+deb12u1)', 'configuration: --prefix=/usr --enable-gpl', 'libavutil      59. 39.100 / 59. 39.100', `libavcodec     ${libavcodec} / ${libavcodec}`, 'libavformat    61.  7.100 / 61.  7.100', ''].join('\n');
}

const BUILDS = {
  'Debian 12 (5.1)': output('ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers', '59. 37.100'),
  'Ubuntu 24.04 (6.1)': output('ffmpeg version 6.1.1-3ubuntu5 Copyright (c) 2000-2023 the FFmpeg developers', '60. 31.102'),
  'Debian 13 (7.1)': output('ffmpeg version 7.1.5-0+deb13u1 Copyright (c) 2000-2026 the FFmpeg developers', '61. 19.101'),
  'Homebrew (8.0)': output('ffmpeg version 8.0 Copyright (c) 2000-2025 the FFmpeg developers', '62. 11.100'),
  'a release tag build (n7.1.1)': output('ffmpeg version n7.1.1 Copyright (c) 2000-2025 the FFmpeg developers', '61. 19.101'),
  'a static build (7.0.2-static)': output('ffmpeg version 7.0.2-static https://johnvansickle.com/ffmpeg/  Copyright (c) 2000-2024 the FFmpeg developers', '61.  3.100'),
  'a git build of 2025': output('ffmpeg version N-118448-g4e4ff4e0b0-20250214 Copyright (c) 2000-2025 the FFmpeg developers', '61. 33.102'),
  'ffprobe of Debian 13': output('ffprobe version 7.1.5-0+deb13u1 Copyright (c) 2007-2026 the FFmpeg developers', '61. 19.101'),
};

const TOO_OLD = {
  'Ubuntu 22.04 (4.4)': output('ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers', '58.134.100'),
  'ffmpeg 5.0': output('ffmpeg version 5.0.1 Copyright (c) 2000-2022 the FFmpeg developers', '59. 18.100'),
  'a git build of 2021': output('ffmpeg version N-104465-g08a501946f Copyright (c) 2000-2021 the FFmpeg developers', '59. 12.100'),
};

describe('parseFfmpegVersion', () => {
  it('reads the release number and libavcodec version of release builds', () => {
    assert.deepEqual(parseFfmpegVersion(BUILDS['Debian 12 (5.1)']), { version: '5.1.9-0+deb12u1', release: { major: 5, minor: 1 }, libavcodec: { major: 59, minor: 37 } });
    assert.deepEqual(parseFfmpegVersion(BUILDS['Homebrew (8.0)'])?.release, { major: 8, minor: 0 });
    assert.deepEqual(parseFfmpegVersion(BUILDS['a release tag build (n7.1.1)'])?.release, { major: 7, minor: 1 });
    assert.deepEqual(parseFfmpegVersion(BUILDS['a static build (7.0.2-static)'])?.release, { major: 7, minor: 0 });
    assert.deepEqual(parseFfmpegVersion(TOO_OLD['Ubuntu 22.04 (4.4)'])?.libavcodec, { major: 58, minor: 134 });
  });

  it('gives a git build no release number, only its libavcodec version', () => {
    assert.deepEqual(parseFfmpegVersion(BUILDS['a git build of 2025']), { version: 'N-118448-g4e4ff4e0b0-20250214', libavcodec: { major: 61, minor: 33 } });
  });

  it('returns undefined for output that is not a version listing', () => {
    assert.equal(parseFfmpegVersion(''), undefined);
    assert.equal(parseFfmpegVersion('avconv version 12.3, Copyright (c) 2000-2018 the Libav developers'), undefined);
  });
});

describe('unsupportedReason', () => {
  for (const [name, text] of Object.entries(BUILDS)) {
    it(`accepts ${name}`, () => assert.equal(unsupportedReason('ffmpeg', '/usr/bin/ffmpeg', text), undefined));
  }

  it('refuses releases before 5.1, naming the binary, the version found and the minimum', () => {
    assert.equal(
      unsupportedReason('ffmpeg', '/usr/bin/ffmpeg', TOO_OLD['Ubuntu 22.04 (4.4)']),
      'ffmpeg at /usr/bin/ffmpeg is version 4.4.2-0ubuntu0.22.04.1; the minimum is 5.1: install ffmpeg 5.1 or later, or point FFMPEG_PATH at one',
    );
    assert.match(unsupportedReason('ffprobe', '/opt/ffprobe', TOO_OLD['ffmpeg 5.0']) ?? '', /^ffprobe at \/opt\/ffprobe is version 5\.0\.1; the minimum is 5\.1: .* FFPROBE_PATH/);
  });

  it('refuses a git build older than 5.1 by its libavcodec version', () => {
    assert.equal(
      unsupportedReason('ffmpeg', 'ffmpeg', TOO_OLD['a git build of 2021']),
      'ffmpeg at ffmpeg is version N-104465-g08a501946f with libavcodec 59.12; the minimum is ffmpeg 5.1 (libavcodec 59.37): install ffmpeg 5.1 or later, or point FFMPEG_PATH at one',
    );
  });

  it('refuses a binary whose -version output says nothing usable', () => {
    assert.match(unsupportedReason('ffmpeg', '/bin/true', '') ?? '', /^ffmpeg at \/bin\/true printed no version .*install ffmpeg 5\.1 or later/);
    assert.match(unsupportedReason('ffmpeg', 'x', 'ffmpeg version N-1-gabc Copyright\n') ?? '', /prints no libavcodec version, so its age is unknown/);
  });
});
