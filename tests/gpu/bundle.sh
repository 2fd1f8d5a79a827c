#!/usr/bin/env bash
# Builds the bundle that tests/gpu/run.sh runs on a GPU machine without .NET:
#   .gpu-bundle/app/                    framework-dependent `dotnet publish` of tests/GpuBenchmarks (Release)
#   .gpu-bundle/dotnet-runtime.tar.gz   this machine's .NET runtime: dotnet, host/, shared/Microsoft.NETCore.App/<version>/
# and checks the whole folder stays under GPU_BUNDLE_LIMIT_MIB (default 60 MiB; the device tool carries at most 64).
#
# usage: bash tests/gpu/bundle.sh [extra dotnet publish arguments]
# env:   GPU_BUNDLE (default .gpu-bundle), GPU_BUNDLE_LIMIT_MIB (default 60)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

BUNDLE=${GPU_BUNDLE:-.gpu-bundle}
LIMIT_MIB=${GPU_BUNDLE_LIMIT_MIB:-60}

command -v dotnet >/dev/null || { echo "bundle.sh: dotnet is not on PATH" >&2; exit 2; }
DOTNET_HOME=$(dirname "$(readlink -f "$(command -v dotnet)")")
# The runtime the app runs on: the newest Microsoft.NETCore.App 10.x installed here.
FX_VERSION=$(ls -1 "$DOTNET_HOME/shared/Microsoft.NETCore.App" 2>/dev/null | grep -E '^10\.' | sort -V | tail -n 1 || true)
[ -n "$FX_VERSION" ] || { echo "bundle.sh: no Microsoft.NETCore.App 10.x under $DOTNET_HOME/shared" >&2; exit 2; }

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE"

echo "== dotnet publish tests/GpuBenchmarks -> $BUNDLE/app"
dotnet publish tests/GpuBenchmarks/GpuBenchmarks.csproj -c Release -o "$BUNDLE/app" \
  --self-contained false -p:UseAppHost=false "$@"
[ -f "$BUNDLE/app/GpuBenchmarks.dll" ] || { echo "bundle.sh: publish produced no GpuBenchmarks.dll" >&2; exit 1; }

echo "== runtime tarball from $DOTNET_HOME (Microsoft.NETCore.App $FX_VERSION)"
members=(dotnet host "shared/Microsoft.NETCore.App/$FX_VERSION")
for f in LICENSE.txt ThirdPartyNotices.txt; do [ -f "$DOTNET_HOME/$f" ] && members+=("$f"); done
tar -czf "$BUNDLE/dotnet-runtime.tar.gz" -C "$DOTNET_HOME" "${members[@]}"
echo "$FX_VERSION" > "$BUNDLE/dotnet-runtime.version"

app_bytes=$(du -sb "$BUNDLE/app" | cut -f1)
rt_bytes=$(stat -c %s "$BUNDLE/dotnet-runtime.tar.gz")
total_bytes=$(du -sb "$BUNDLE" | cut -f1)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "== bundle $BUNDLE: app $(mib "$app_bytes"), dotnet-runtime.tar.gz $(mib "$rt_bytes"), total $(mib "$total_bytes") (limit $LIMIT_MIB MiB)"
if [ "$total_bytes" -gt $((LIMIT_MIB * 1048576)) ]; then
  echo "bundle.sh: the bundle is larger than $LIMIT_MIB MiB" >&2
  exit 1
fi
