#!/usr/bin/env bash
# The GPU verification, as one prepared script for a machine with a CUDA GPU.
#
#   bash benchmarks/gpu_check.sh [OUT_FOLDER]
#
# Runs the whole suite at the standard level with --device cuda against every target the
# README's GPU table names, each in its own dropout-check run (so the time per implementation
# includes the interpreter and CUDA start; on a GPU the standard level makes the scale tier's
# call of 2^31 + 2^20 elements too), then a time-budgeted run (--time 60) of F.dropout. Writes each run's report folder, its console output and a summary table (GPU,
# driver and torch version named) under OUT_FOLDER (default: gpu-results).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-gpu-results}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
{
  echo "# GPU run $(date -u +%Y-%m-%dT%H:%MZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
} > "$OUT/summary.md" 2>&1
echo "| implementation | verdict | seconds |" >> "$OUT/summary.md"
echo "|---|---|---|" >> "$OUT/summary.md"
run() {  # name, dropout-check arguments...
  local name="$1"; shift
  local started=$(date +%s.%N)
  python -m dropout_verify "$@" --device cuda --report "$OUT/$name" > "$OUT/$name.txt" 2>&1
  local code=$?
  local seconds=$(python -c "import time; print(f'{time.time() - $started:.1f}')")
  local verdict=$([ $code -eq 0 ] && echo "all hold" || echo "exit $code")
  echo "| $* | $verdict | $seconds |" >> "$OUT/summary.md"
}
run f_dropout torch.nn.functional:dropout
run native_dropout torch:ops.aten.native_dropout
run dropout_mask dropout_impl:dropout_mask
run dropout_bernoulli dropout_impl:dropout_bernoulli
run dropout2d torch.nn.functional:dropout2d
run alpha torch.nn.functional:alpha_dropout
run drop_path dropout_impl:drop_path
run sdpa_math dropout_verify.attention:sdpa_math
run sdpa_flash dropout_verify.attention:sdpa_flash
run sdpa_efficient dropout_verify.attention:sdpa_efficient
run sdpa_cudnn dropout_verify.attention:sdpa_cudnn
run compiled_dropout torch.nn.functional:dropout --compile
run timed_dropout torch.nn.functional:dropout --time 60 -k "test_keep_rate_until_deadline"
run triton_dropout examples/triton_dropout.py:triton_dropout
cat "$OUT/summary.md"
