#!/usr/bin/env bash
# Fuzzing: builds the fuzz targets (Fuzz/) with libFuzzer and AddressSanitizer (leak checks on) and
# runs each for SECONDS (default 60), starting from the seed corpus in Fuzz/corpus/<target>.
#   scripts/fuzz.sh [SECONDS] [TARGET…]        e.g. scripts/fuzz.sh 600 xml
# A crash, leak or hang (an input that runs longer than 10 s) stops that target with its input
# written to .build-fuzz/findings/<target>/; the script then exits 1. Copy a finding into
# Fuzz/corpus/<target>/ when it is fixed: the test suite replays that folder.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(xml ews-response config mail-text webdav-response icalendar caldav-response)
scripts/setup.sh
flags=(--scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING)
for target in "${targets[@]}"; do swift build "${flags[@]}" --product "fuzz-$target"; done
bin=$(swift build "${flags[@]}" --show-bin-path)
status=0
summary=()
for target in "${targets[@]}"; do
  work=.build-fuzz/corpus/$target
  findings=.build-fuzz/findings/$target
  mkdir -p "$work" "$findings"
  log=.build-fuzz/fuzz-$target.log
  echo "fuzz-$target: $seconds s"
  if ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/Fuzz/lsan.supp "$bin/fuzz-$target" "$work" "Fuzz/corpus/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$findings/" > "$log" 2>&1; then
    result=ok
  else
    result="FAILED (see $log and $findings)"
    status=1
  fi
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
  corpus=$(ls "$work" | wc -l)
  summary+=("fuzz-$target: $runs executions in $seconds s, corpus $corpus inputs: $result")
  tail -3 "$log"
done
printf '%s\n' "${summary[@]}"
exit $status
