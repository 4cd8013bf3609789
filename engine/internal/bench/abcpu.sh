#!/usr/bin/env bash
# abcpu.sh: interleaved A/B comparison of one Go benchmark by CPU time, for
# a loaded machine where wall-clock ns/op means little.
#
#   abcpu.sh [-n ITERS] [-r ROUNDS] BENCH A.test B.test [-- extra test flags]
#
# Builds nothing: pass two test binaries (go test -c -o A.test ./pkg, once
# from each commit). Each round runs A then B with -test.benchtime ITERSx
# under `perf stat -e task-clock` and once more with 1x to subtract setup
# (process start, parsing, fixtures). Prints benchstat tables of CPU ns per
# operation (the "cpu-ns/op" unit) and of the benchmark's own ns/op.
set -euo pipefail
iters=100000 rounds=8
while getopts n:r: o; do
  case $o in n) iters=$OPTARG ;; r) rounds=$OPTARG ;; *) exit 2 ;; esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] || { sed -n 2,12p "$0" >&2; exit 2; }
bench=$1 a=$2 b=$3
shift 3
[ "${1:-}" = -- ] && shift
out=$(mktemp -d)
cpu() { # binary iterations -> task-clock milliseconds
  perf stat -x, -e task-clock "$1" -test.run '^$' -test.bench "^$bench\$" -test.benchtime "$2x" "${@:3}" \
    2>"$out/perf" >"$out/stdout"
  awk -F, '/task-clock/ {print $1}' "$out/perf"
}
for ((i = 1; i <= rounds; i++)); do
  for side in a b; do
    bin=$a
    [ $side = b ] && bin=$b
    full=$(cpu "$bin" "$iters" "$@")
    grep '^Benchmark' "$out/stdout" >>"$out/$side.wall" || true
    base=$(cpu "$bin" 1 "$@")
    awk -v f="$full" -v z="$base" -v n="$iters" -v name="$bench" \
      'BEGIN { printf "Benchmark%s 1 %.1f cpu-ns/op\n", substr(name, 10), (f - z) * 1e6 / n }' >>"$out/$side.cpu"
  done
done
echo "# CPU time per operation (perf task-clock), $rounds interleaved rounds of $iters"
benchstat "$out/a.cpu" "$out/b.cpu"
echo
echo "# the benchmark's own wall-clock figures, same runs"
benchstat "$out/a.wall" "$out/b.wall"
rm -rf "$out"
