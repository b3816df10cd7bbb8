#!/usr/bin/env bash
# bench/summarize.sh DIR - medians and ratios from DIR/runs.csv (written by bench/run.sh):
# DIR/summary.csv, DIR/summary.md (also printed) and DIR/time.png (gnuplot).
# Each ratio is a run's wall time over the llm run of the same length and round;
# the median of those is reported, so both sides of a ratio share a round's drift.
set -euo pipefail
dir=$1

awk -F, '
function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) { t = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
NR == 1 { next }
{
    key = $1 "," $2
    if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
    wall[key] = wall[key] " " $4; cpu[key] = cpu[key] " " ($5 + $6); rss[key] = rss[key] " " $7
    if ($11 > 0) rate[key] = rate[key] " " ($10 / ($11 / 1000))
    w[$1 "," $2 "," $3] = $4; rounds[$1 "," $2] = rounds[$1 "," $2] " " $3
    segs[$1] = $9; toks[$1] = $8
    if ($14 > 0) tps[key] = tps[key] " " ($12 / $14)
    drafted[key] = drafted[key] " " ($15 + 0); accepted[key] = accepted[key] " " ($16 + 0)
}
END {
    print "length,doc_tokens,segments,schedule,wall_s,cpu_s,rss_mb,ratio_to_llm,prefill_tok_s,drafted,accepted,tokens_per_step" > (dir "/summary.csv")
    for (k = 1; k <= nk; k++) {
        split(keys[k], p, ","); len = p[1]; sched = p[2]
        n = split(rounds[keys[k]], r, " "); ratios = ""
        for (i = 1; i <= n; i++) { base = w[len ",llm," r[i]]; if (base > 0) ratios = ratios " " (w[keys[k] "," r[i]] / base) }
        printf "%s,%s,%s,%s,%.1f,%.1f,%.0f,%.3f,%.1f,%d,%d,%.2f\n", len, toks[len], segs[len], sched, median(wall[keys[k]]),
            median(cpu[keys[k]]), median(rss[keys[k]]) / 1024, ratios == "" ? 0 : median(ratios),
            rate[keys[k]] == "" ? 0 : median(rate[keys[k]]), median(drafted[keys[k]]), median(accepted[keys[k]]),
            tps[keys[k]] == "" ? 0 : median(tps[keys[k]]) >> (dir "/summary.csv")
    }
}' dir="$dir" "$dir/runs.csv"

{
  echo "| length | doc tokens | segments | schedule | wall s | cpu s | peak RSS MB | ratio to llm | prefill tok/s | drafted | accepted | tokens a step |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  tail -n +2 "$dir/summary.csv" | awk -F, '{ printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; print "" }'
  if [ -f "$dir/llama-bench.csv" ]; then
    echo
    echo "| length | depth | llama-bench prefill tok/s | wim prefill tok/s (llm) | ratio |"
    echo "|---|---|---|---|---|"
    while IFS=, read -r len depth lb; do
      ours=$(awk -F, -v l="$len" '$1 == l && $4 == "llm" { print $9 }' "$dir/summary.csv")
      echo "| $len | $depth | $lb | $ours | $(awk -v a="$ours" -v b="$lb" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }') |"
    done <"$dir/llama-bench.csv"
  fi
} >"$dir/summary.md"
cat "$dir/summary.md"

command -v gnuplot >/dev/null || { echo "bench: no gnuplot (apt-get install gnuplot-nox): no plot" >&2; exit 0; }
for s in $(tail -n +2 "$dir/summary.csv" | cut -d, -f4 | sort -u); do
  awk -F, -v s="$s" '$4 == s { print $1, $5 }' "$dir/summary.csv" >"$dir/plot-$s.dat"
done
{
  echo "set terminal png size 900,600; set output '$dir/time.png'"
  echo "set title 'wim: wall time by document length (medians)'; set key left top"
  echo "set xlabel 'document tokens'; set ylabel 'seconds'; set logscale x 2; set grid"
  printf "plot "
  first=1
  for f in "$dir"/plot-*.dat; do
    s=$(basename "$f" .dat); s=${s#plot-}
    [ $first = 1 ] || printf ", "
    printf "'%s' using 1:2 with linespoints title '%s'" "$f" "$s"
    first=0
  done
  echo
} | gnuplot
rm -f "$dir"/plot-*.dat
echo "bench: wrote $dir/summary.csv, $dir/summary.md, $dir/time.png" >&2
