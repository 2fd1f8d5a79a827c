#!/usr/bin/env bash
# Runs the GPU benchmark on a machine with an NVIDIA GPU, CUDA and PyTorch, but no .NET and no network:
#   1. extracts the bundle's .NET runtime (made by tests/gpu/bundle.sh) to a temporary folder
#   2. GpuBenchmarks (ours, ILGPU backend)        -> ours.json / ours.txt
#   3. tests/gpu/torch_bench.py (PyTorch, same GPU) -> torch.json / torch.txt
#   4. one comparison table                          -> comparison.txt / comparison.json
# Everything printed also goes to run.log in the results folder: $OUT if set, else ./gpu-results.
#
# usage (from anywhere; it works in the repository root):
#   bash tests/gpu/run.sh            the GPU run
#   bash tests/gpu/run.sh --cpu      ours on ILGPU's CPU accelerator at small sizes, no Python (tests the harness)
#   bash tests/gpu/run.sh --no-torch the GPU run without the PyTorch part
# env: GPU_BUNDLE (default .gpu-bundle)   OUT (results folder)   PYTHON (default python3)
#      OURS_ARGS / TORCH_ARGS (extra arguments)   OURS_TIMEOUT / TORCH_TIMEOUT (seconds, default 180 / 210)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
start_s=$(date +%s)

cpu=0
torch=1
for arg in "$@"; do
  case "$arg" in
    --cpu) cpu=1; torch=0 ;;
    --no-torch) torch=0 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

BUNDLE=${GPU_BUNDLE:-.gpu-bundle}
RESULTS=${OUT:-./gpu-results}
PYTHON_SET=${PYTHON:-}
PYTHON=${PYTHON:-python3}
OURS_TIMEOUT=${OURS_TIMEOUT:-180}
TORCH_TIMEOUT=${TORCH_TIMEOUT:-210}
mkdir -p "$RESULTS" || exit 2
RESULTS=$(cd "$RESULTS" && pwd)
exec > >(tee -a "$RESULTS/run.log") 2>&1

elapsed() { echo "$(( $(date +%s) - start_s )) s"; }
with_timeout() { local t=$1; shift; if command -v timeout >/dev/null; then timeout --kill-after=10 "$t" "$@"; else "$@"; fi; }

echo "=== tests/gpu/run.sh $* ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n))"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
fi

# ---- the .NET runtime ----
APP="$BUNDLE/app/GpuBenchmarks.dll"
[ -f "$APP" ] || { echo "run.sh: $APP not found: build the bundle with 'bash tests/gpu/bundle.sh' (on a machine with .NET)" >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/aot-gpu-run.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
if [ -f "$BUNDLE/dotnet-runtime.tar.gz" ]; then
  tar -xzf "$BUNDLE/dotnet-runtime.tar.gz" -C "$TMP/" || { echo "run.sh: cannot extract $BUNDLE/dotnet-runtime.tar.gz" >&2; exit 2; }
  export DOTNET_ROOT="$TMP"
  DOTNET="$TMP/dotnet"
elif command -v dotnet >/dev/null; then
  echo "run.sh: no $BUNDLE/dotnet-runtime.tar.gz; using the dotnet on PATH"
  DOTNET=$(command -v dotnet)
else
  echo "run.sh: neither $BUNDLE/dotnet-runtime.tar.gz nor dotnet on PATH" >&2; exit 2
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_gcServer=0 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
echo "dotnet: $("$DOTNET" --list-runtimes 2>/dev/null | grep NETCore.App | head -n 1)"

# ILGPU opens the CUDA driver as "libcuda.so"; containers often only have libcuda.so.1. Link it if needed (the app
# also tries libcuda.so.1 itself).
if [ "$cpu" = 0 ]; then
  LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)
  if ! "$LDCONFIG" -p 2>/dev/null | grep -q 'libcuda\.so '; then
    lib1=$("$LDCONFIG" -p 2>/dev/null | awk '/libcuda\.so\.1 / { print $NF; exit }')
    if [ -z "$lib1" ]; then
      for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/wsl/lib /usr/local/cuda/compat; do
        if [ -e "$d/libcuda.so.1" ]; then lib1="$d/libcuda.so.1"; break; fi
      done
    fi
    if [ -n "$lib1" ]; then
      mkdir -p "$TMP/cudalib" && ln -s "$lib1" "$TMP/cudalib/libcuda.so"
      export LD_LIBRARY_PATH="$TMP/cudalib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      echo "libcuda: linked libcuda.so -> $lib1"
    fi
  fi
fi

# ---- ours ----
ours_args=(--json "$RESULTS/ours.json")
[ "$cpu" = 1 ] && ours_args+=(--cpu)
# shellcheck disable=SC2206
[ -n "${OURS_ARGS:-}" ] && ours_args+=(${OURS_ARGS})
echo
echo "=== ours: dotnet GpuBenchmarks.dll ${ours_args[*]} [$(elapsed)]"
rm -f "$RESULTS/ours.json"
with_timeout "$OURS_TIMEOUT" "$DOTNET" "$APP" "${ours_args[@]}" 2>&1 | tee "$RESULTS/ours.txt"
ours_rc=${PIPESTATUS[0]}
echo "ours: exit $ours_rc [$(elapsed)]"

# ---- torch ----
torch_rc=0
if [ "$torch" = 1 ]; then
  if [ -z "${PYTHON_SET:-}" ] && ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
    for candidate in python3 python /usr/bin/python3 /opt/conda/bin/python; do
      if command -v "$candidate" >/dev/null && "$candidate" -c "import torch" >/dev/null 2>&1; then PYTHON=$candidate; break; fi
    done
  fi
  torch_args=(--json "$RESULTS/torch.json")
  # shellcheck disable=SC2206
  [ -n "${TORCH_ARGS:-}" ] && torch_args+=(${TORCH_ARGS})
  echo
  echo "=== torch: $PYTHON tests/gpu/torch_bench.py ${torch_args[*]} [$(elapsed)]"
  rm -f "$RESULTS/torch.json"
  with_timeout "$TORCH_TIMEOUT" "$PYTHON" tests/gpu/torch_bench.py "${torch_args[@]}" 2>&1 | tee "$RESULTS/torch.txt"
  torch_rc=${PIPESTATUS[0]}
  echo "torch: exit $torch_rc [$(elapsed)]"
fi

# ---- comparison ----
compare_rc=2
if [ -f "$RESULTS/ours.json" ]; then
  compare_args=(--compare "$RESULTS/ours.json" --json "$RESULTS/comparison.json" --text "$RESULTS/comparison.txt")
  [ "$torch" = 1 ] && compare_args+=(--torch "$RESULTS/torch.json")
  "$DOTNET" "$APP" "${compare_args[@]}"
  compare_rc=$?
else
  echo "run.sh: ours.json was not written (ours exited $ours_rc): no comparison" >&2
fi

echo
echo "=== done in $(elapsed): ours exit $ours_rc, torch exit $torch_rc, comparison exit $compare_rc; results in $RESULTS"
ls -1 "$RESULTS" | sed 's/^/  /'
for rc in "$ours_rc" "$torch_rc" "$compare_rc"; do
  [ "$rc" != 0 ] && exit "$rc"
done
exit 0
