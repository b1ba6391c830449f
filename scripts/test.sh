#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run ctest plain and under
# ASan/UBSan, and check formatting with clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
echo "== npm (independent implementations the tests compare against)"
npm ci --no-audit --no-fund --loglevel=error
echo "== format"
git ls-files -- '*.c' '*.h' | xargs clang-format --dry-run --Werror
echo "== build"
scripts/build.sh build
echo "== tests"
(cd build && ctest --output-on-failure -j2)
echo "== build (ASan/UBSan)"
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DCR_SANITIZE=ON
echo "== tests (ASan/UBSan)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j2)
