#!/usr/bin/env python3
"""Reference upscaler for the fidelity tests: runs an ncnn .param/.bin with Tencent's own ncnn
(PyPI package `ncnn`) on the CPU, independently of the project's TypeScript converter.

Reads raw RGB24 (height x width x 3 bytes) from stdin and writes raw RGB24 of the upscaled image
to stdout. Pre/post-processing is the one Real-ESRGAN's ncnn front end uses: value / 255 in,
clamp to [0, 1], * 255 and round out. fp16 storage and arithmetic are switched off so the
reference computes in fp32.

Usage: ncnn_ref.py PARAM BIN WIDTH HEIGHT < in.rgb > out.rgb
"""
import sys

import ncnn
import numpy as np


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    param, weights, width, height = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    data = sys.stdin.buffer.read()
    if len(data) != width * height * 3:
        print(f"ncnn_ref: expected {width * height * 3} bytes of RGB24 on stdin, got {len(data)}", file=sys.stderr)
        return 2

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.use_fp16_packed = False
    net.opt.use_fp16_storage = False
    net.opt.use_fp16_arithmetic = False
    net.opt.use_bf16_storage = False
    net.opt.num_threads = 2
    if net.load_param(param) != 0 or net.load_model(weights) != 0:
        print(f"ncnn_ref: ncnn could not load {param} / {weights}", file=sys.stderr)
        return 1

    rgb = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
    chw = np.ascontiguousarray(rgb.transpose(2, 0, 1).astype(np.float32) / 255.0)

    ex = net.create_extractor()
    ex.input(net.input_names()[0], ncnn.Mat(chw))
    ret, out = ex.extract(net.output_names()[0])
    if ret != 0:
        print(f"ncnn_ref: extract failed with {ret}", file=sys.stderr)
        return 1

    result = np.array(out)  # [3, H', W'] float32
    pixels = np.round(np.clip(result, 0.0, 1.0) * 255.0).astype(np.uint8)
    sys.stdout.buffer.write(np.ascontiguousarray(pixels.transpose(1, 2, 0)).tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
