"""summary.py - a wim-eval run's exact matches as Markdown rows (docs/eval.md).

    summary.py SUMMARY.csv [SUFFIX]
    summary.py --at TOKENS SUMMARY.csv

One row per dataset and mode: examples, exact match and Wilson's 95%
interval, and the mean wall time of an example; SUFFIX follows the mode's
name (e.g. "one-pass"). With --at, gnuplot's rows instead: TOKENS, exact, and
the interval's ends.
"""
import csv
import sys

from margins import wilson


def main(path, suffix="", at=None):
    for r in csv.DictReader(open(path, encoding="utf-8")):
        n = int(r["examples"])
        p, lo, hi = wilson(round(float(r["exact"]) * n), n)
        if at:
            print(f"{at} {p:.3f} {lo:.3f} {hi:.3f}")
            continue
        mode = r["mode"] + (" " + suffix if suffix else "")
        print(f"| {r['dataset']} | {mode} | {n} | {p:.3f} | [{lo:.3f}, {hi:.3f}] | {r['wall_s']} |")


if __name__ == "__main__":
    if sys.argv[1] == "--at":
        main(sys.argv[3], at=sys.argv[2])
    else:
        main(*sys.argv[1:3])
