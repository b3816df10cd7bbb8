#!/usr/bin/env bash
# python.sh BUILD_DIR MODEL - the Python binding as a user installs it: `pip
# install ./python` offline into a fresh virtual environment (Debian's
# setuptools, nothing from PyPI), then its tests with Debian's pytest, run from
# elsewhere so that the installed package is the one imported.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
tmp=$(mktemp -d /tmp/wim-python-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# Debian's python, where its setuptools, wheel and pytest are installed
/usr/bin/python3 -m venv --system-site-packages "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --no-index --no-build-isolation "$src/python" 2>&1 |
  grep -v "^$" >&2 || true
export WIM_LIBRARY=$build/libwim.so WIM_TEST_MODEL=$(realpath "$2")
"$tmp/venv/bin/python" -c 'import wim, sys; sys.exit(0 if "site-packages" in wim.__file__ else 1)' ||
  { echo "python: pip did not install the package" >&2; exit 1; }
cd "$tmp"
"$tmp/venv/bin/python" -m pytest -q -p no:cacheprovider \
  "$src/python/tests"
