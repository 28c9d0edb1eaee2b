#!/usr/bin/env bash
# Builds the S3-compatible test server (versitygw, pinned in test/s3/go.mod) once and prints its path.
# The binary is cached under .cache/s3-bin/, keyed by the versitygw version and the Go version, so a
# version bump in go.mod or a new Go toolchain builds a fresh one and a cache hit costs nothing.
# Static (CGO_ENABLED=0), stripped, reproducible paths (-trimpath); `nice` because machines are shared.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

command -v go >/dev/null || { echo "test/s3/build.sh: Go (>= 1.25) is needed to build versitygw" >&2; exit 1; }
ver="$(go list -m -f '{{.Version}}' github.com/versity/versitygw)"
gover="$(go env GOVERSION)"
bin="$root/.cache/s3-bin/versitygw-$ver-$gover"

if [ ! -x "$bin" ]; then
  mkdir -p "$root/.cache/s3-bin"
  # One build at a time: parallel test files may all ask for the binary on a cold cache.
  exec 9>"$root/.cache/s3-bin/.build.lock"
  flock 9
  if [ ! -x "$bin" ]; then
    echo "Building versitygw $ver with $gover into $bin" >&2
    start=$SECONDS
    # Build to a temporary name and rename, so a killed build never leaves a half-written binary.
    CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w -X main.Version=$ver" -o "$bin.tmp.$$" \
      github.com/versity/versitygw/cmd/versitygw
    mv -f "$bin.tmp.$$" "$bin"
    echo "Built versitygw in $((SECONDS - start))s" >&2
  fi
fi
echo "$bin"
