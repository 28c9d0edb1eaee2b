#!/usr/bin/env bash
# End-to-end tests: starts the local Kubernetes test cluster (building it on first use), runs the
# tests that need it and the cross-component tests, then stops the cluster if this script started it.
set -uo pipefail
cd "$(dirname "$0")/.."
was_running=0
if [ -x .cluster/bin/kubectl ] && .cluster/bin/kubectl --kubeconfig .cluster/kubeconfig get --raw /readyz >/dev/null 2>&1; then
  was_running=1
fi
node test/cluster/start.ts || exit $?
kueue_was_running=0; [ -f .cluster/run/kueue.pid ] && kueue_was_running=1
node --test --test-concurrency=1 --test-timeout=600000 "test/cluster/*.test.ts" "test/e2e/**/*.test.ts"
status=$?
[ "$kueue_was_running" = 1 ] || node test/kueue/stop.ts >/dev/null
[ "$was_running" = 1 ] || node test/cluster/stop.ts >/dev/null
exit $status
