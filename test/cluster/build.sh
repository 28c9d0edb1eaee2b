#!/usr/bin/env bash
# Builds the test cluster's binaries (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, etcd, helm) from the pinned Go modules in test/cluster/go, once per version set.
#
# Binaries land in .cache/cluster-bin/<key>/, where <key> hashes go.mod, go.sum, this script and
# the Go version, so a warm start reuses them and a version bump rebuilds. The last line printed
# on stdout is the binary folder. All six are built by one `go build` so packages shared between
# them (client-go, apimachinery, grpc, ...) compile once on CI's two cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mod="$here/go"

go_version=$(go env GOVERSION)
key=$( { cat "$mod/go.mod" "$mod/go.sum" "$here/build.sh"; echo "$go_version $(go env GOOS)/$(go env GOARCH)"; } \
  | sha256sum | cut -c1-16)
out="$root/.cache/cluster-bin/$key"
bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd helm)

complete() { for b in "${bins[@]}"; do [ -x "$out/$b" ] || return 1; done; [ -f "$out/versions.json" ]; }
if complete; then echo "$out"; exit 0; fi

modver() { (cd "$mod" && go list -m -f '{{.Version}}' "$1"); }
modtime() { (cd "$mod" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "$1"); }
k8s=$(modver k8s.io/kubernetes); etcd=$(modver go.etcd.io/etcd/server/v3); helm=$(modver helm.sh/helm/v3)
minor=$(echo "$k8s" | cut -d. -f2); k8s_date=$(modtime k8s.io/kubernetes)

# Version stamps as kubernetes' hack/lib/version.sh and helm's Makefile set them: an unstamped
# kube binary reports v0.0.0-master, and a wrong minor would shift the emulated version.
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld+=" -X $p.gitVersion=$k8s -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  ld+=" -X $p.gitCommit=module-$k8s -X $p.buildDate=$k8s_date"
done
hv=helm.sh/helm/v3
ld+=" -X $hv/internal/version.version=$helm -X $hv/internal/version.gitTreeState=clean"
ld+=" -X $hv/internal/version.gitCommit=module-$helm"
ld+=" -X $hv/pkg/lint/rules.k8sVersionMajor=1 -X $hv/pkg/lint/rules.k8sVersionMinor=$minor"
ld+=" -X $hv/pkg/chartutil.k8sVersionMajor=1 -X $hv/pkg/chartutil.k8sVersionMinor=$minor"
ld+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=module-$etcd"

tmp="$out.tmp.$$"
rm -rf "$tmp"; mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
echo "Building kubernetes $k8s, etcd $etcd, helm $helm with $go_version into $out" >&2
start=$(date +%s)
(cd "$mod" && CGO_ENABLED=0 nice -n 10 go build -mod=readonly -buildvcs=false -trimpath \
  -tags selinux,notest -ldflags "$ld" -o "$tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
  go.etcd.io/etcd/server/v3 helm.sh/helm/v3/cmd/helm)
# `go build -o dir/` names the etcd main package after its path element before /v3.
mv "$tmp/server" "$tmp/etcd"
printf '{"kubernetes":"%s","etcd":"%s","helm":"%s","go":"%s","buildSeconds":%d}\n' \
  "$k8s" "$etcd" "$helm" "$go_version" "$(( $(date +%s) - start ))" > "$tmp/versions.json"
rm -rf "$out"; mv "$tmp" "$out"
echo "Built cluster binaries in $(( $(date +%s) - start ))s" >&2
echo "$out"
