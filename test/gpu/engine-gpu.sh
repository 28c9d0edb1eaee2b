#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool), from the repository root, after pack-engine-gpu.sh ran here:
#   bash test/gpu/engine-gpu.sh general   # call 1: carry .device/engine-gpu and .gl
#   bash test/gpu/engine-gpu.sh x4plus    # call 2, on the still-warm machine: carry .device/engine-gpu-x4plus
#   bash test/gpu/engine-gpu.sh all       # both, when everything fits in one call
# Prints, per model and size (640x360, 1280x720): fps of the engine per execution provider and
# precision (TensorRT, CUDA, WebGPU; fp16, fp32), then a PyTorch fp16 reference of the same
# architecture with the same weights, and the PSNR between the two outputs.
set -uo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
case $what in
  general) models=realesr-general-x4v3 ;;
  x4plus) models=RealESRGAN_x4plus ;;
  all) models=realesr-general-x4v3,RealESRGAN_x4plus ;;
  *) echo "usage: $0 general|x4plus|all" >&2; exit 2 ;;
esac
out=${OUT:-.device/out}
mkdir -p "$out" .device/work models/dist
log() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }

# --- Node 24 and node_modules: unpacked once, kept on a warm machine between calls -------------
rt=.device/rt
if [ ! -x "$rt/node" ]; then
  if [ ! -f .device/engine-gpu/node.xz ]; then
    echo "no runtime here: carry .device/engine-gpu (made by test/gpu/pack-engine-gpu.sh) in this call" >&2
    exit 2
  fi
  log "Unpacking Node and node_modules"
  mkdir -p "$rt"
  xz -dc .device/engine-gpu/node.xz >"$rt/node.tmp" && chmod +x "$rt/node.tmp" && mv "$rt/node.tmp" "$rt/node"
  xz -dc .device/engine-gpu/node_modules.tar.xz | tar -xf -
fi
export PATH="$PWD/$rt:$PATH"
node --version

# --- Vulkan loader for WebGPU (Dawn) -------------------------------------------------------------
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in .gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

log "GPU"
nvidia-smi --query-gpu=name,memory.total,memory.free,driver_version --format=csv
ls node_modules/onnxruntime-node/bin/napi-v6/linux/x64/ | sed 's/^/ort lib: /'

# --- Models: fp16 carried, fp32 made here by upcasting the fp16 weights ------------------------
for src in .device/engine-gpu/*.fp16.onnx .device/engine-gpu-x4plus/*.fp16.onnx; do
  [ -f "$src" ] || continue
  id=$(basename "$src" .fp16.onnx)
  [ -f "models/dist/$id.fp16.onnx" ] || cp "$src" "models/dist/$id.fp16.onnx"
  [ -f "models/dist/$id.onnx" ] || python3 test/gpu/engine_gpu.py upcast "models/dist/$id.fp16.onnx" "models/dist/$id.onnx"
done
ls -la models/dist

sizes=640x360,1280x720
log "Engine (onnxruntime-node) fps per provider and precision: $models"
node test/gpu/engine-gpu.ts --models "$models" --sizes "$sizes" --frames-dir .device/engine-gpu --save .device/work 2>&1 | tee "$out/engine-$what.log"

log "PyTorch fp16 reference: $models"
PYTHONUNBUFFERED=1 python3 test/gpu/engine_gpu.py torch --models "$models" --sizes "$sizes" --frames-dir .device/engine-gpu --compare .device/work 2>&1 | tee "$out/torch-$what.log"
log "Done"
