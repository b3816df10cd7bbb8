#!/usr/bin/env bash
# install.sh BUILD_DIR MODEL - wim as a user installs it: `cmake --install` into
# a scratch prefix; a program built against it with pkg-config, and with
# find_package(wim) on the shared and the static library, reads a document; the
# installed wim and wim-server run from the prefix moved elsewhere (no build
# tree, no source tree), finding their page and tokenizers under share/wim.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
model=$2
tmp=$(mktemp -d /tmp/wim-install-XXXXXX)
trap 'kill $server 2>/dev/null || true; rm -rf "$tmp"' EXIT
server=
fail() { echo "install: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
p=$tmp/prefix
for f in include/wim.h lib/libwim.a lib/pkgconfig/wim.pc lib/cmake/wim/wimConfig.cmake \
  bin/wim bin/wim-server bin/wim-eval bin/wim-mkmodel share/wim/web/index.html \
  share/wim/templates/extract.txt share/man/man1/wim.1 share/man/man3/libwim.3; do
  [ -e "$p/$f" ] || fail "$f not installed"
done
so=$(readlink "$p/lib/libwim.so") || fail "lib/libwim.so is not a link to the versioned library"
[ "$(objdump -p "$p/lib/$so" | awk '/SONAME/ {print $2}')" = libwim.so.0 ] || fail "soname is not libwim.so.0"

# what libwim.so exports is what wim.h declares, nothing more or less
exported=$(nm -D --defined-only "$p/lib/$so" | awk '{print $3}' | sort)
declared=$(grep -oE '\bwim_[a-z_]+\(' "$p/include/wim.h" | tr -d '(' | sort -u)
[ "$exported" = "$declared" ] || fail "libwim.so exports other than wim.h declares: $(
  diff <(echo "$exported") <(echo "$declared") | grep '^[<>]' | head -5 | tr '\n' ' ')"

doc="Mara went to the orchard. The rain stopped at noon. Tobin walked to the pier."
q="Where is Mara?"
ran() { grep -q '^answer: ' "$1" && grep -q '^done$' "$1" || fail "$2 did not answer: $(cat "$1")"; }

# pkg-config, against the shared library
export PKG_CONFIG_PATH=$p/lib/pkgconfig
[ "$(pkg-config --modversion wim)" = "$("$p/bin/wim" --version | cut -d' ' -f2)" ] ||
  fail "wim.pc's version is not wim --version's"
cc -o "$tmp/hello-pc" "$src/tests/install/hello.c" $(pkg-config --cflags --libs wim) \
  -Wl,-rpath,"$(pkg-config --variable=libdir wim)"
"$tmp/hello-pc" "$model" "$doc" "$q" >"$tmp/pc.out" 2>"$tmp/pc.err" || fail "pkg-config build: $(cat "$tmp/pc.err")"
ran "$tmp/pc.out" "the pkg-config build"

# find_package(wim MAJOR.MINOR): wim::wim and wim::wim_static
want=$("$p/bin/wim" --version | cut -d' ' -f2 | cut -d. -f1,2)
cmake -S "$src/tests/install" -B "$tmp/user" -DCMAKE_PREFIX_PATH="$p" -DWIM_WANT="$want" >/dev/null
cmake --build "$tmp/user" >/dev/null
for h in hello hello_static; do
  "$tmp/user/$h" "$model" "$doc" "$q" >"$tmp/$h.out" 2>"$tmp/$h.err" || fail "$h: $(cat "$tmp/$h.err")"
  ran "$tmp/$h.out" "the find_package build ($h)"
done
! ldd "$tmp/user/hello_static" | grep -q libwim || fail "hello_static links libwim.so"

# the installed programs, moved away from where they were installed
mv "$p" "$tmp/moved"
m=$tmp/moved
printf '%s\n' "$doc" >"$tmp/doc.txt"
"$m/bin/wim" -m "$model" -f "$tmp/doc.txt" -q "$q" --segment-tokens 16 --max-answer-tokens 4 \
  --quiet >/dev/null || fail "the installed wim did not read"
"$m/bin/wim-mkmodel" --preset tiny-qwen2 -o "$tmp/made.gguf" >/dev/null 2>&1 ||
  fail "the installed wim-mkmodel did not find its tokenizer"
"$m/bin/wim-server" -m "$model" --port 0 >"$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  port=$(grep -oE 'http://[0-9.]+:[0-9]+' "$tmp/server.log" | head -1 | sed 's/.*://') && [ -n "$port" ] && break
  sleep 0.1
done
[ -n "${port:-}" ] || fail "the installed wim-server did not start: $(cat "$tmp/server.log")"
curl -fsS "http://127.0.0.1:$port/" -o "$tmp/page.html" || fail "the installed server's page"
cmp -s "$tmp/page.html" "$m/share/wim/web/index.html" || fail "the page is not the installed one"
echo "install: pkg-config, find_package (shared and static) and the moved programs all read"
