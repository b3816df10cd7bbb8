#!/usr/bin/env bash
# man.sh BIN_DIR - the man pages say what the programs do: every flag in a
# program's --help is in its page and every flag in the page is in --help, and
# libwim(3) names every function wim.h declares.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
fail=0

# the flags a text names: -x, -xy, --long-name (not words like one-pass or '-')
flags() {
  sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' | grep -oE '(^|[^A-Za-z0-9_-])--?[a-z][a-z0-9-]*' |
    sed -E 's/^[^-]*//' | sort -u
}

for prog in wim wim-server wim-eval wim-mkmodel; do
  page=docs/man/man1/$prog.1
  help=$("$bin/$prog" --help | flags)
  man=$(sed '/^\.EX/,/^\.EE/d' "$page" | flags) # examples run other programs too
  only_help=$(comm -23 <(echo "$help") <(echo "$man"))
  only_man=$(comm -13 <(echo "$help") <(echo "$man"))
  if [ -n "$only_help" ]; then
    echo "man: $page lacks $(echo $only_help) of $prog --help" >&2
    fail=1
  fi
  if [ -n "$only_man" ]; then
    echo "man: $page names $(echo $only_man), which $prog --help does not" >&2
    fail=1
  fi
done

declared=$(grep -oE '\bwim_[a-z_]+\(' include/wim.h | tr -d '(' | sort -u)
named=$(sed -e 's/\\f[BIRP]//g' docs/man/man3/libwim.3 | grep -oE '\bwim_[a-z_]+\(' | tr -d '(' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$named"))
if [ -n "$missing" ]; then
  echo "man: libwim.3 lacks $(echo $missing)" >&2
  fail=1
fi
[ $fail -eq 0 ] && echo "man: 4 pages match --help; libwim.3 names all $(echo "$declared" | wc -l) functions"
exit $fail
