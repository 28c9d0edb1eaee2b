"""PyTorch reference for the engine's GPU benchmark (run by engine-gpu.sh on the GPU machine).

Subcommands:
  upcast IN OUT      fp16 ONNX -> fp32 ONNX (weights widened, fp16 casts made fp32): the fp32
                     models are made on the GPU machine so that they need not be carried.
  check-weights M..  checks that the Conv/PReLU weights of each ONNX model line up, in order and
                     shape, with the PyTorch architecture below (needs only onnx + numpy).
  torch              fps of SRVGGNetCompact / RRDBNet in fp16 on CUDA with the weights read from
                     the converted ONNX files, and PSNR against the engine's saved outputs.

The architectures are Real-ESRGAN's (basicsr/archs/srvgg_arch.py, rrdbnet_arch.py), written out
here so that the reference needs no basicsr. Weights are assigned in graph order: the converter
emits Conv nodes in the network's forward order, which is also the modules' definition order.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

MODELS = {
    "realesr-general-x4v3": "SRVGGNetCompact",
    "RealESRGAN_x4plus": "RRDBNet",
}


# --- architecture, as conv shapes (no torch needed) -------------------------------------------


def srvgg_conv_shapes(num_feat=64, num_conv=32, upscale=4):
    shapes = [(num_feat, 3, 3, 3)]
    shapes += [(num_feat, num_feat, 3, 3)] * num_conv
    shapes += [(3 * upscale * upscale, num_feat, 3, 3)]
    return shapes


def rrdb_conv_shapes(num_feat=64, num_block=23, grow=32):
    shapes = [(num_feat, 3, 3, 3)]
    rdb = [(grow, num_feat + i * grow, 3, 3) for i in range(4)] + [(num_feat, num_feat + 4 * grow, 3, 3)]
    shapes += rdb * 3 * num_block
    shapes += [(num_feat, num_feat, 3, 3)] * 4  # conv_body, conv_up1, conv_up2, conv_hr
    shapes += [(3, num_feat, 3, 3)]  # conv_last
    return shapes


def onnx_weights(path):
    """(conv weights and biases, prelu slopes, leaky alphas) in graph order, as float32 arrays."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in model.graph.initializer}
    convs, prelus, alphas = [], [], []
    for node in model.graph.node:
        if node.op_type == "Conv":
            bias = inits[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            convs.append((inits[node.input[1]], bias))
        elif node.op_type == "PRelu":
            prelus.append(inits[node.input[1]].reshape(-1))
        elif node.op_type == "LeakyRelu":
            alphas.append(next((a.f for a in node.attribute if a.name == "alpha"), 0.01))
    return convs, prelus, alphas


def check_weights(model_id, path):
    convs, prelus, alphas = onnx_weights(path)
    arch = MODELS[model_id]
    expected = srvgg_conv_shapes() if arch == "SRVGGNetCompact" else rrdb_conv_shapes()
    got = [tuple(w.shape) for w, _ in convs]
    if got != expected:
        first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        raise SystemExit(f"{path}: {len(got)} convs, expected {len(expected)} for {arch}; first mismatch at conv {first}: {got[first:first+1]} vs {expected[first:first+1]}")
    if arch == "SRVGGNetCompact" and [len(p) for p in prelus] != [64] * 33:
        raise SystemExit(f"{path}: PReLU slopes {[len(p) for p in prelus][:3]}..., expected 33 x 64")
    if arch == "RRDBNet" and any(abs(a - 0.2) > 1e-6 for a in alphas):
        raise SystemExit(f"{path}: LeakyRelu alphas other than 0.2: {sorted(set(alphas))}")
    print(f"{model_id}: {len(convs)} convs, {len(prelus)} PReLU, {len(alphas)} LeakyReLU line up with {arch}")


# --- fp16 -> fp32 ------------------------------------------------------------------------------


def upcast(src, dst):
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load(src)
    for init in model.graph.initializer:
        if init.data_type == TensorProto.FLOAT16:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32), init.name))
    for node in model.graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT16:
                attr.i = TensorProto.FLOAT
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT16:
                attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float32), attr.t.name))
    for vi in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT16:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
    for prop in model.metadata_props:
        if prop.key == "upscale.precision":
            prop.value = "fp32"
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print(f"upcast {src} -> {dst}")


# --- PyTorch reference ---------------------------------------------------------------------------


def build_torch(model_id, path):
    import torch
    from torch import nn
    from torch.nn import functional as F

    class SRVGGNetCompact(nn.Module):
        def __init__(self, num_feat=64, num_conv=32, upscale=4):
            super().__init__()
            self.upscale = upscale
            self.body = nn.ModuleList([nn.Conv2d(3, num_feat, 3, 1, 1), nn.PReLU(num_parameters=num_feat)])
            for _ in range(num_conv):
                self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
                self.body.append(nn.PReLU(num_parameters=num_feat))
            self.body.append(nn.Conv2d(num_feat, 3 * upscale * upscale, 3, 1, 1))
            self.upsampler = nn.PixelShuffle(upscale)

        def forward(self, x):
            out = x
            for layer in self.body:
                out = layer(out)
            return self.upsampler(out) + F.interpolate(x, scale_factor=self.upscale, mode="nearest")

    class ResidualDenseBlock(nn.Module):
        def __init__(self, num_feat=64, grow=32):
            super().__init__()
            self.conv1 = nn.Conv2d(num_feat, grow, 3, 1, 1)
            self.conv2 = nn.Conv2d(num_feat + grow, grow, 3, 1, 1)
            self.conv3 = nn.Conv2d(num_feat + 2 * grow, grow, 3, 1, 1)
            self.conv4 = nn.Conv2d(num_feat + 3 * grow, grow, 3, 1, 1)
            self.conv5 = nn.Conv2d(num_feat + 4 * grow, num_feat, 3, 1, 1)
            self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

        def forward(self, x):
            x1 = self.lrelu(self.conv1(x))
            x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
            x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
            x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
            x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
            return x5 * 0.2 + x

    class RRDB(nn.Module):
        def __init__(self, num_feat=64, grow=32):
            super().__init__()
            self.rdb1 = ResidualDenseBlock(num_feat, grow)
            self.rdb2 = ResidualDenseBlock(num_feat, grow)
            self.rdb3 = ResidualDenseBlock(num_feat, grow)

        def forward(self, x):
            return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x

    class RRDBNet(nn.Module):
        def __init__(self, num_feat=64, num_block=23, grow=32):
            super().__init__()
            self.conv_first = nn.Conv2d(3, num_feat, 3, 1, 1)
            self.body = nn.Sequential(*[RRDB(num_feat, grow) for _ in range(num_block)])
            self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_last = nn.Conv2d(num_feat, 3, 3, 1, 1)
            self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

        def forward(self, x):
            feat = self.conv_first(x)
            feat = feat + self.conv_body(self.body(feat))
            feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
            feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
            return self.conv_last(self.lrelu(self.conv_hr(feat)))

    net = SRVGGNetCompact() if MODELS[model_id] == "SRVGGNetCompact" else RRDBNet()
    convs, prelus, _ = onnx_weights(path)
    torch_convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    torch_prelus = [m for m in net.modules() if isinstance(m, nn.PReLU)]
    if len(convs) != len(torch_convs) or len(prelus) != len(torch_prelus):
        raise SystemExit(f"{path}: {len(convs)} convs / {len(prelus)} PReLU, the PyTorch {MODELS[model_id]} has {len(torch_convs)} / {len(torch_prelus)}")
    with torch.no_grad():
        for (weight, bias), conv in zip(convs, torch_convs):
            if tuple(weight.shape) != tuple(conv.weight.shape):
                raise SystemExit(f"{path}: conv weight {weight.shape} where PyTorch has {tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(weight))
            if bias is not None:
                conv.bias.copy_(torch.from_numpy(bias))
        for slope, prelu in zip(prelus, torch_prelus):
            prelu.weight.copy_(torch.from_numpy(slope))
    return net.eval()


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def run_torch(args):
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("CUDA is not available to PyTorch")
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name(0)}, cuDNN {torch.backends.cudnn.version()}")
    results = []
    for model_id in args.models.split(","):
        fp16_path = os.path.join("models/dist", f"{model_id}.fp16.onnx")
        net = build_torch(model_id, fp16_path).to(dev)
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.split("x"))
            frame = np.fromfile(os.path.join(args.frames_dir, f"frame-{size}.rgb"), dtype=np.uint8).reshape(height, width, 3)
            saved = os.path.join(args.compare, f"{model_id}-{size}.rgb") if args.compare else None
            if saved and os.path.exists(saved):
                # Quality check first, in fp32 (the engine's saved output is its first provider's).
                with torch.inference_mode():
                    x = torch.from_numpy(frame).to(dev).permute(2, 0, 1)[None].float() / 255
                    ref = (net.float()(x).clamp(0, 1) * 255).round().byte()[0].permute(1, 2, 0).cpu().numpy()
                engine_out = np.fromfile(saved, dtype=np.uint8).reshape(height * 4, width * 4, 3)
                print(f"{model_id} {size}: PSNR engine vs PyTorch fp32 = {psnr(engine_out, ref):.2f} dB")
            for batch in (1, 4):
                half = net.half().to(memory_format=torch.channels_last)
                x8 = torch.from_numpy(np.ascontiguousarray(np.broadcast_to(frame, (batch, height, width, 3)))).pin_memory()
                with torch.inference_mode():
                    xg = (x8.to(dev).permute(0, 3, 1, 2).half() / 255).contiguous(memory_format=torch.channels_last)
                    for _ in range(3):
                        half(xg)
                    torch.cuda.synchronize()
                    # Model only: input already on the GPU, like the published 243 fps figure.
                    n, t0 = 0, time.perf_counter()
                    while n < 3 or time.perf_counter() - t0 < args.seconds:
                        half(xg)
                        n += batch
                    torch.cuda.synchronize()
                    model_fps = n / (time.perf_counter() - t0)
                    # End to end: uint8 frames in from host memory, uint8 frames back, like the engine.
                    n, t0 = 0, time.perf_counter()
                    while n < 3 or time.perf_counter() - t0 < args.seconds:
                        inp = (x8.to(dev, non_blocking=True).permute(0, 3, 1, 2).half() / 255).contiguous(memory_format=torch.channels_last)
                        out = (half(inp).clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu()
                        n += batch
                    e2e_fps = n / (time.perf_counter() - t0)
                print(f"{model_id} {size} pytorch fp16 batch {batch}: {model_fps:.2f} fps model only, {e2e_fps:.2f} fps uint8 in/out ({out.shape[1]}x{out.shape[2]})")
                results.append({"model": model_id, "size": size, "batch": batch, "model_fps": model_fps, "e2e_fps": e2e_fps})
        del net
        torch.cuda.empty_cache()
    print(json.dumps({"bench": "pytorch-fp16", "results": results}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("upcast")
    p.add_argument("src")
    p.add_argument("dst")
    p = sub.add_parser("check-weights")
    p.add_argument("paths", nargs="+", help="model files named <model-id>[.fp16].onnx")
    p = sub.add_parser("torch")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--sizes", default="640x360,1280x720")
    p.add_argument("--frames-dir", default=".device/engine-gpu")
    p.add_argument("--compare", default=None, help="folder with the engine's saved outputs")
    p.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    if args.cmd == "upcast":
        upcast(args.src, args.dst)
    elif args.cmd == "check-weights":
        for path in args.paths:
            check_weights(os.path.basename(path).split(".")[0], path)
    else:
        run_torch(args)


if __name__ == "__main__":
    sys.exit(main())
