#!/usr/bin/env bash
# Run HERE (no GPU needed), from anywhere: packs what test/gpu/engine-gpu.sh needs on the GPU
# machine into ignored folders that the device tool carries (see test/gpu/README.md):
#   .device/engine-gpu/          Node 24 binary (xz), the engine's runtime node_modules (xz),
#                                realesr-general-x4v3.fp16.onnx, two real frames (rgb24)      ~45 MB
#   .device/engine-gpu-x4plus/   RealESRGAN_x4plus.fp16.onnx                                   ~34 MB
#   .gl/                         Vulkan/EGL loader .debs for WebGPU (Dawn)                    <1 MB
# The fp32 models are not carried (64 MiB per call): engine_gpu.py upcasts the fp16 files there.
set -euo pipefail
cd "$(dirname "$0")/../.."
a=.device/engine-gpu
b=.device/engine-gpu-x4plus
mkdir -p "$a" "$b" .gl
log() { printf '== %s\n' "$*"; }

for f in models/dist/realesr-general-x4v3.fp16.onnx models/dist/RealESRGAN_x4plus.fp16.onnx; do
  [ -f "$f" ] || { echo "missing $f: run npm run models first" >&2; exit 2; }
done

node_bin=$(readlink -f "$(command -v node)")
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ] || { echo "node $(node --version) is older than 24" >&2; exit 2; }
if [ ! -s "$a/node.xz" ] || [ "$node_bin" -nt "$a/node.xz" ]; then
  log "Compressing $node_bin ($(node --version))"
  xz -T0 -6 -c "$node_bin" >"$a/node.xz"
fi

log "Packing the engine's runtime dependencies"
# The dependency closure of what worker/engine and models/ import at run time.
pkgs=$(node -e '
  const fs = require("node:fs");
  const seen = new Set();
  const queue = ["onnxruntime-node", "pino", "zod", "protobufjs"];
  while (queue.length > 0) {
    const name = queue.shift();
    if (seen.has(name)) continue;
    seen.add(name);
    const pkg = JSON.parse(fs.readFileSync(`node_modules/${name}/package.json`, "utf8"));
    queue.push(...Object.keys(pkg.dependencies ?? {}));
  }
  console.log([...seen].map((n) => `node_modules/${n}`).join(" "));
')
# shellcheck disable=SC2086 # word splitting of the package list is intended
tar -cf - --exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32' --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' $pkgs | xz -T0 -6 >"$a/node_modules.tar.xz"

cp models/dist/realesr-general-x4v3.fp16.onnx "$a/"
cp models/dist/RealESRGAN_x4plus.fp16.onnx "$b/"

log "Decoding real frames (onepiece_demo.mp4 frame 100) at 640x360 and 1280x720"
testdata=${UPSCALE_TESTDATA:-../shared/testdata}
for size in 640x360 1280x720; do
  ffmpeg -v error -y -i "$testdata/onepiece_demo.mp4" -vf "select=eq(n\,100),scale=${size/x/:}:flags=bicubic" -frames:v 1 -f rawvideo -pix_fmt rgb24 "$a/frame-$size.rgb"
done

if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  log "Downloading the Vulkan/EGL loader packages (amd64) into .gl"
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi

du -sh "$a" "$b" .gl
echo "Total carried by call 1: $(du -cb "$a" .gl | tail -1 | cut -f1) bytes; call 2: $(du -cb "$b" | tail -1 | cut -f1) bytes (limit 67108864 each, with the working tree)"
