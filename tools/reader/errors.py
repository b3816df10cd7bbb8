"""errors.py - what a wim-eval run's answers got wrong (docs/eval.md).

    errors.py DATA.jsonl RESULTS.jsonl [SUFFIX]

For each mode's answers to "Where is P?" over a story: right (P's last move),
an earlier move of P's (which move is the latest), another person's place
(whose place it is), or no place of the story at all (a mangled copy, or
nothing). One Markdown table row per mode, shares of the examples; SUFFIX
follows the mode's name (e.g. "one-pass").
"""
import collections
import json
import os
import re
import sys

from margins import examples, story


def kind(e, answer):
    who, moves = story(e)
    own = [p for n, p in moves if n == who]
    said = re.sub(r"^the ", "", answer.strip().lower()).rstrip(". ")
    if own and said == own[-1]:
        return "right"
    if said in own:
        return "earlier"
    if said in (p for _, p in moves):
        return "other"
    return "none"


def main(data_path, results_path, suffix=""):
    data = examples(data_path)
    by_mode = collections.defaultdict(collections.Counter)
    for line in open(results_path, encoding="utf-8"):
        r = json.loads(line)
        if r["id"] in data:
            by_mode[r["mode"]][kind(data[r["id"]], r.get("answer", ""))] += 1
    for mode, c in by_mode.items():
        n = sum(c.values())
        cells = " | ".join(f"{c[k] / n:.3f}" for k in ("right", "earlier", "other", "none"))
        name = os.path.basename(data_path).removesuffix(".jsonl")
        print(f"| {name} | {mode}{' ' + suffix if suffix else ''} | {n} | {cells} |")


if __name__ == "__main__":
    main(*sys.argv[1:4])
