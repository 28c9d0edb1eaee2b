#!/usr/bin/env bash
# Builds a second, newer ffmpeg for the media and end-to-end tests (Debian 13 "trixie"'s ffmpeg 7.1,
# from Debian's packages) and prints the folder holding its `ffmpeg` and `ffprobe` wrappers.
#
# A minbase trixie root is debootstrapped into .cache/ffmpeg-<suite>-<key>/, where <key> hashes
# this script, so a change to it builds afresh and a cache hit costs nothing. The wrappers run the
# root's binaries through the root's own dynamic loader and libraries (no chroot at run time), so
# they take host paths, pipes and signals exactly as a host ffmpeg does.
#
# The Debian mirror is the one this machine's apt already uses (read from /etc/apt/sources.list*),
# or UPSCALE_DEBIAN_MIRROR. Needs root and debootstrap (installed with apt-get when missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
suite="${UPSCALE_FFMPEG_SUITE:-trixie}"
key="$( (cat "$0"; echo "$suite") | sha256sum | cut -c1-12)"
dest="$root/.cache/ffmpeg-$suite-$key"
arch_dir=x86_64-linux-gnu

# The first Debian archive URI (not the security one) from the machine's apt sources.
debian_mirror() {
  if [ -n "${UPSCALE_DEBIAN_MIRROR:-}" ]; then echo "$UPSCALE_DEBIAN_MIRROR"; return; fi
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list)
  local f uri
  for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    # deb822 stanzas ("URIs: ...") and one-line entries ("deb [opts] URI suite ...").
    uri="$(awk '/^URIs:/ {print $2} /^deb[ \t]/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; break}}' "$f" \
      | grep -E '/debian/?$' | head -n1 || true)"
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
  echo "test/ffmpeg/build.sh: no Debian archive in /etc/apt/sources.list*; set UPSCALE_DEBIAN_MIRROR" >&2
  exit 1
}

if [ ! -x "$dest/bin/ffprobe" ]; then
  mkdir -p "$root/.cache"
  exec 9>"$root/.cache/.ffmpeg-$suite.build.lock"
  flock 9
  if [ ! -x "$dest/bin/ffprobe" ]; then
    [ "$(id -u)" = 0 ] || { echo "test/ffmpeg/build.sh: debootstrap needs root" >&2; exit 1; }
    if ! command -v debootstrap >/dev/null; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    fi
    mirror="$(debian_mirror)"
    start=$SECONDS
    tmp="$dest.tmp.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    echo "Building $suite's ffmpeg into $dest (debootstrap from the machine's Debian mirror)" >&2
    nice -n 10 debootstrap --variant=minbase "$suite" "$tmp/root" "$mirror" >"$tmp/debootstrap.log" 2>&1 \
      || { tail -n 20 "$tmp/debootstrap.log" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive nice -n 10 chroot "$tmp/root" apt-get install -y -qq --no-install-recommends ffmpeg \
      >"$tmp/apt.log" 2>&1 || { tail -n 20 "$tmp/apt.log" >&2; exit 1; }
    chroot "$tmp/root" apt-get clean
    # Absolute library symlinks (Debian's alternatives, e.g. libblas.so.3 -> /etc/alternatives/...)
    # would point into the host once used outside a chroot: make them relative inside the root.
    lib="$tmp/root/usr/lib/$arch_dir"
    find "$lib" -maxdepth 1 -type l -lname '/*' | while read -r link; do
      target="$(chroot "$tmp/root" readlink -f "/${link#"$tmp/root/"}")"
      ln -sfn "$(realpath -m --relative-to="$lib" "$tmp/root$target")" "$link"
    done
    # Library folders: every folder the root's loader resolves ffmpeg's and ffprobe's libraries in
    # (some libraries carry an absolute RUNPATH, e.g. libpulse's pulseaudio/ folder).
    libdirs="$(for tool in ffmpeg ffprobe; do chroot "$tmp/root" ldd "/usr/bin/$tool"; done \
      | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | xargs -n1 dirname | sort -u \
      | sed 's|^|$r|' | paste -sd: -)"
    mkdir -p "$tmp/bin"
    for tool in ffmpeg ffprobe; do
      cat >"$tmp/bin/$tool" <<WRAPPER
#!/bin/sh
# $suite's $tool, run through its own loader and libraries (written by test/ffmpeg/build.sh).
r="\$(cd "\$(dirname "\$0")/../root" && pwd)"
exec "\$r/usr/lib/$arch_dir/ld-linux-x86-64.so.2" --library-path "$libdirs" --argv0 $tool "\$r/usr/bin/$tool" "\$@"
WRAPPER
      chmod +x "$tmp/bin/$tool"
    done
    "$tmp/bin/ffmpeg" -hide_banner -version | head -n1 >&2
    rm -rf "$dest" && mv "$tmp" "$dest"
    trap - EXIT
    echo "Built $suite's ffmpeg in $((SECONDS - start))s" >&2
  fi
fi
echo "$dest/bin"
