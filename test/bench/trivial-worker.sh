#!/bin/sh
# A trivial stand-in for `upscale <step>` in the control-plane benchmark (test/bench/control-plane.ts):
# it does no media work, only what the operator reads back. The node agent runs it for pods whose
# UpscaleJob sets the annotation agent.upscale-operator.test/command (test/cluster/agent/command-override.ts).
#   trivial-worker.sh <shard seconds> <step> --task <json> --result-file <file>
# probe: the plan summary (one frame per shard, shard count = the task's plan.shardCount);
# shard: sleeps <shard seconds> (so pods overlap), then succeeds; other steps succeed at once.
set -eu
seconds=$1; step=$2; shift 2
task=''; result=/dev/null
while [ $# -gt 0 ]; do
  case $1 in
    --task) task=$2; shift 2 ;;
    --result-file) result=$2; shift 2 ;;
    *) shift ;;
  esac
done
case $step in
  probe)
    shards=$(printf '%s' "$task" | sed -n 's/.*"shardCount":\([0-9][0-9]*\).*/\1/p')
    [ -n "$shards" ] || { echo "trivial-worker: the probe task has no plan.shardCount: $task" >&2; exit 2; }
    printf '{"ok":true,"step":"probe","shards":%s,"summary":{"frames":%s,"width":160,"height":120,"fps":24}}\n' "$shards" "$shards" > "$result" ;;
  shard)
    sleep "$seconds"
    printf '{"ok":true,"step":"shard"}\n' > "$result" ;;
  *)
    printf '{"ok":true,"step":"%s"}\n' "$step" > "$result" ;;
esac
