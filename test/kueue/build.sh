#!/usr/bin/env bash
# Builds Kueue's controller manager (sigs.k8s.io/kueue/cmd/kueue) from the pinned Go module in
# test/kueue/go, once per version set, and copies what the test harness needs from the module
# source next to it: the CRDs (config/components/crd/bases/*.yaml) and the webhook manifest.
#
# Output: .cache/kueue-bin/<key>/{kueue,crds/*.yaml,webhook-manifests.yaml,versions.json}, where
# <key> hashes go.mod, go.sum, this script and the Go version, so a warm start reuses the folder
# and a version bump rebuilds. The last line printed on stdout is that folder.
#
# Regenerating go.mod/go.sum for another version (only when bumping):
#   cd test/kueue/go && rm -f go.mod go.sum && go mod init upscale-operator/test/kueue/go &&
#   go mod edit -go=1.26.0 && go get -tool sigs.k8s.io/kueue/cmd/kueue@vX.Y.Z && go mod tidy
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mod="$here/go"

go_version=$(go env GOVERSION)
key=$( { cat "$mod/go.mod" "$mod/go.sum" "$here/build.sh"; echo "$go_version $(go env GOOS)/$(go env GOARCH)"; } \
  | sha256sum | cut -c1-16)
out="$root/.cache/kueue-bin/$key"

complete() { [ -x "$out/kueue" ] && [ -f "$out/webhook-manifests.yaml" ] && [ -f "$out/versions.json" ] && [ -n "$(ls "$out/crds" 2>/dev/null)" ]; }
if complete; then echo "$out"; exit 0; fi

version=$(cd "$mod" && go list -m -f '{{.Version}}' sigs.k8s.io/kueue)
date=$(cd "$mod" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' sigs.k8s.io/kueue)
# Unstamped, Kueue reports v0.0.0-main (its Makefile sets these three).
vp=sigs.k8s.io/kueue/pkg/version
ld="-s -w -X $vp.GitVersion=$version -X $vp.GitCommit=module-$version -X $vp.BuildDate=$date"

tmp="$out.tmp.$$"
rm -rf "$tmp"; mkdir -p "$tmp/crds"
trap 'rm -rf "$tmp"' EXIT
echo "Building kueue $version with $go_version into $out" >&2
start=$(date +%s)
(cd "$mod" && CGO_ENABLED=0 nice -n 10 go build -mod=readonly -buildvcs=false -trimpath -ldflags "$ld" \
  -o "$tmp/kueue" sigs.k8s.io/kueue/cmd/kueue)

# The manifests come from the module source itself (same version as the binary), never committed.
src=$(cd "$mod" && go list -m -f '{{.Dir}}' sigs.k8s.io/kueue)
[ -d "$src" ] || (cd "$mod" && go mod download sigs.k8s.io/kueue)
cp "$src"/config/components/crd/bases/*.yaml "$tmp/crds/"
cp "$src/config/components/webhook/manifests.yaml" "$tmp/webhook-manifests.yaml"
chmod -R u+w "$tmp"
printf '{"kueue":"%s","go":"%s","buildSeconds":%d}\n' "$version" "$go_version" "$(( $(date +%s) - start ))" > "$tmp/versions.json"
rm -rf "$out"; mv "$tmp" "$out"
echo "Built kueue in $(( $(date +%s) - start ))s" >&2
echo "$out"
