#!/usr/bin/env bash
# deb.sh BUILD_DIR MODEL - the Debian package: cpack makes wim_VERSION_ARCH.deb,
# its dependencies are the shared libraries the programs link (computed, not
# listed by hand), and dpkg installs it into a scratch root (its own dpkg
# database; the dependencies are this machine's), where the programs run.
set -euo pipefail
build=$(cd "$1" && pwd)
model=$(realpath "$2")
tmp=$(mktemp -d /tmp/wim-deb-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "deb: $*" >&2; exit 1; }

(cd "$tmp" && cpack -G DEB -B "$tmp/out" --config "$build/CPackConfig.cmake" >/dev/null)
deb=$(ls "$tmp"/out/wim_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libicu libcjson libxxhash libmicrohttpd libpoppler-glib libc6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
files=$(dpkg-deb -c "$deb")
for f in ./usr/bin/wim ./usr/bin/wim-server ./usr/include/wim.h ./usr/lib/libwim.so.0 \
  ./usr/lib/pkgconfig/wim.pc ./usr/share/man/man1/wim.1 ./usr/share/man/man3/libwim.3; do
  grep -q " $f\( \|$\)" <<<"$files" || fail "the package lacks $f"
done

root=$tmp/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
# the package's postinst runs ldconfig, which only root may: others unpack it
action=(-i) state=installed
[ "$(id -u)" -eq 0 ] || action=(--unpack) state=unpacked
dpkg --root="$root" --force-not-root --force-depends --force-script-chrootless --no-triggers \
  "${action[@]}" "$deb" >/dev/null 2>"$tmp/dpkg.err" || fail "dpkg ${action[*]}: $(cat "$tmp/dpkg.err")"
dpkg --root="$root" -s wim | grep -q "^Status: install ok $state" || fail "not $state"
[ "$("$root/usr/bin/wim" --version)" = "wim $(dpkg-deb -f "$deb" Version)" ] ||
  fail "wim --version is not the package's version"
echo "Mara went to the orchard. The rain stopped at noon." >"$tmp/doc.txt"
"$root/usr/bin/wim" -m "$model" -f "$tmp/doc.txt" -q "Where is Mara?" --segment-tokens 16 \
  --max-answer-tokens 4 --json --quiet | grep -q '"event":"done"' || fail "the packaged wim did not read"
echo "deb: $(basename "$deb") installs and reads; Depends: $depends"
