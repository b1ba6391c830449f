#!/usr/bin/env bash
# Fuzz drivers for a time each and keep the account (docs/fuzzing.md):
#   fuzz/run.sh SECONDS DRIVER [DRIVER…]     (DRIVER: scope, angle, …; "all" for every one)
# Builds build-fuzz with clang (libFuzzer, ASan, UBSan) when needed, fuzzes each driver from a
# working copy of its committed corpus (bench/out/fuzz/<driver>, kept between runs so the
# corpus grows), and appends one line per run to fuzz/LOG.tsv: date, driver, seconds,
# executions, result ("clean", or the crash file). A crash input is copied into the committed
# corpus as crash-YYYY-MM-DD-<driver>-<sha1>, so every later ctest run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:?seconds per driver}
shift
DRIVERS=("$@")
if [ "${DRIVERS[0]:-all}" = all ]; then
  read -r -a DRIVERS <<< "$(sed -n 's/^set(CR_FUZZ_DRIVERS \(.*\))$/\1/p' fuzz/CMakeLists.txt)"
fi
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang cmake -S . -B build-fuzz -DCR_FUZZ=ON -DCR_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build-fuzz -j2 --target "${DRIVERS[@]/#/fuzz_}" >/dev/null
[ -f fuzz/LOG.tsv ] || printf 'date\tdriver\tseconds\texecutions\tresult\n' > fuzz/LOG.tsv
for d in "${DRIVERS[@]}"; do
  work=bench/out/fuzz/$d
  mkdir -p "$work/corpus" "$work/crashes"
  cp -n fuzz/corpus/"$d"/* "$work/corpus/" 2>/dev/null || true
  log=$work/last.log
  rc=0
  started=$(date +%s)
  build-fuzz/fuzz/fuzz_"$d" "$work/corpus" -max_total_time="$SECONDS_EACH" -timeout=20 \
    -rss_limit_mb=4096 -max_len=65536 -artifact_prefix="$work/crashes/" -print_final_stats=1 \
    > "$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # the time it ran: libFuzzer's own count when it finished, the clock when it stopped early
  secs=$(sed -n 's/^stat::.*total_time.*: *//p;s/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  [ -n "$secs" ] || secs=$(($(date +%s) - started))
  result=clean
  if [ "$rc" -ne 0 ]; then
    crash=$(ls -t "$work/crashes"/* 2>/dev/null | head -1 || true)
    if [ -n "$crash" ]; then
      name=crash-$(date -u +%Y-%m-%d)-$d-$(sha1sum "$crash" | cut -c1-12)
      cp "$crash" "fuzz/corpus/$d/$name"
      result=$name
    else
      result="exit $rc (see $log)"
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$d" "$secs" \
    "${runs:-?}" "$result" | tee -a fuzz/LOG.tsv
done
