#!/usr/bin/env bash
# criteo-vs-freemarker.sh: Criteo's INSTALL URL rendered by adgate's
# template engine and by Apache FreeMarker 2.3.31 (the fmoracle), in
# interleaved rounds on this machine.
#
#   engine/internal/bench/criteo-vs-freemarker.sh [ROUNDS]      (from the repository root)
#
# Per round it prints, for each engine, the wall-clock time per render of
# its own benchmark loop (fmoracle --bench; go test -bench) and the CPU
# time per render: task-clock of a long run minus that of a short one,
# divided by the difference in renders, so process start, JIT warm-up and
# template parsing cancel out. Needs perf, Java 17 and libfreemarker-java.
set -euo pipefail
rounds=${1:-5}
root=$(git rev-parse --show-toplevel)
oracle=${FMORACLE:-$root/../shared/tools/fmoracle/run.sh}
tdir=$root/engine/template
tpl=testdata/golden/criteo_install.ftl
data=testdata/event.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tdir" && go test -c -o "$tmp/template.test" .)
cd "$tdir"
cpu_ms() { awk -F, '/task-clock/ {print $1}' "$1"; }
fm() { # seconds -> "renders wall_us task_clock_ms"
  perf stat -x, -e task-clock -o "$tmp/fm.perf" "$oracle" --number-format computer --boolean-format c \
    --bench "$1" "$data" "$tpl" >"$tmp/fm.out"
  awk -v c="$(cpu_ms "$tmp/fm.perf")" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
    END { print f["warmup_renders"] + f["measured_renders"], f["us_per_render"], c }' "$tmp/fm.out"
}
go_() { # iterations -> "renders wall_us task_clock_ms"
  perf stat -x, -e task-clock -o "$tmp/go.perf" "$tmp/template.test" -test.run '^$' \
    -test.bench '^BenchmarkExecuteCriteoURL$' -test.benchtime "$1x" >"$tmp/go.out"
  awk -v n="$1" -v c="$(cpu_ms "$tmp/go.perf")" '/^Benchmark/ { print n, $3 / 1000, c }' "$tmp/go.out"
}
printf '%-6s %-10s %12s %12s\n' round engine wall-us cpu-us
for ((r = 1; r <= rounds; r++)); do
  read -r fn1 _ fc1 < <(fm 1)
  read -r fn2 fw fc2 < <(fm 4)
  read -r gn1 _ gc1 < <(go_ 20000)
  read -r gn2 gw gc2 < <(go_ 400000)
  fcpu=$(awk -v a="$fc1" -v b="$fc2" -v n="$fn1" -v m="$fn2" 'BEGIN { printf "%.3f", (b - a) * 1000 / (m - n) }')
  gcpu=$(awk -v a="$gc1" -v b="$gc2" -v n="$gn1" -v m="$gn2" 'BEGIN { printf "%.3f", (b - a) * 1000 / (m - n) }')
  printf '%-6s %-10s %12.3f %12s\n' "$r" freemarker "$fw" "$fcpu"
  printf '%-6s %-10s %12.3f %12s   ratio wall %.1fx cpu %.1fx\n' "$r" adgate "$gw" "$gcpu" \
    "$(awk -v a="$fw" -v b="$gw" 'BEGIN { print a / b }')" "$(awk -v a="$fcpu" -v b="$gcpu" 'BEGIN { print a / b }')"
done
