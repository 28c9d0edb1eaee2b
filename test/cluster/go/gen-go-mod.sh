#!/usr/bin/env bash
# Regenerates go.mod/go.sum of the tools module that builds the test cluster's binaries.
# Run only when bumping a version; the committed go.mod/go.sum make builds reproducible.
#
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...) at v0.0.0
# and replaces them with ./staging paths that are ignored when it is a dependency, so each one
# gets a replace directive to the published k8s.io/X v0.N.P that matches v1.N.P. The list is
# read from the kubernetes go.mod itself because it changes between minors.
set -euo pipefail
cd "$(dirname "$0")"
K8S=${K8S_VERSION:-v1.37.2}
ETCD=${ETCD_VERSION:-v3.7.0}   # the etcd that k8s.io/kubernetes $K8S itself requires
# helm v3.22 rather than v4: its dependency versions equal kubernetes' own, so the shared packages
# compile once and the kube binaries keep the graph kubernetes was tested with (build.sh stamps v3 paths).
HELM=${HELM_VERSION:-v3.22.0}
staging_version="v0.${K8S#v1.}"

rm -f go.mod go.sum
go mod init upscale-operator/test/cluster/go >/dev/null 2>&1
go mod edit -go=1.26.0
gomod=$(go mod download -json "k8s.io/kubernetes@$K8S" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
# godebug only applies in the main module: copy kubernetes' own line.
godebug=$(sed -n 's/^godebug \(.*\)$/\1/p' "$gomod")
[ -n "$godebug" ] && go mod edit -godebug="$godebug"
for m in $(grep -E '^\s*k8s\.io/[a-z0-9-]+ v0\.0\.0\s*$' "$gomod" | awk '{print $1}' | sort -u); do
  go mod edit -replace="$m=$m@$staging_version"
done
go get "k8s.io/kubernetes@$K8S" "go.etcd.io/etcd/server/v3@$ETCD" "helm.sh/helm/v3@$HELM"
# Versions on every -tool path: without one, go get upgrades that module to its latest release.
go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$K8S" "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S" \
  "k8s.io/kubernetes/cmd/kube-scheduler@$K8S" "k8s.io/kubernetes/cmd/kubectl@$K8S" \
  "go.etcd.io/etcd/server/v3@$ETCD" "helm.sh/helm/v3/cmd/helm@$HELM"
go mod tidy
echo "Generated go.mod for kubernetes $K8S, etcd $ETCD, helm $HELM"
