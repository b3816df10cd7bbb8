#!/usr/bin/env bash
# lint.sh - check formatting (clang-format) and common bugs (clang-tidy) on our C.
# Needs a configured build/ for compile_commands.json (scripts/setup.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files 'include/*.h' 'src/*.[ch]' 'common/*.[ch]' 'src/*.cpp' 'tools/*.[ch]' 'tests/*.c' 'bench/*.c')
clang-format --dry-run -Werror $files
clang-tidy -p build --quiet $(echo "$files" | grep '\.c$' | grep -v '^tests/fuzz/') 2>/dev/null
# the fuzz targets are built in build-fuzz/ alone (scripts/fuzz.sh makes it)
[ ! -f build-fuzz/compile_commands.json ] ||
  clang-tidy -p build-fuzz --quiet $(echo "$files" | grep '^tests/fuzz/.*\.c$') 2>/dev/null
