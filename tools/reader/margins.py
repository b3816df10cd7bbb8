"""margins.py - how well a wim-eval run's margins found the fact (docs/reader.md).

    margins.py DATA.jsonl RESULTS.jsonl

For each wim example of DATA ("Where is P?" over a story): recall, whether a
kept margin quotes P's last move (the sentence that answers: P's name and its
place); and over all kept margins, precision, the share that say something
about P at all. With 95% Wilson intervals; one Markdown table row.
"""
import json
import math
import re
import sys


def wilson(k, n, z=1.96):
    if n == 0:
        return 0.0, 0.0, 0.0
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, c - h, c + h


def examples(data_path):
    """A wim-eval data file's examples by id."""
    with open(data_path, encoding="utf-8") as f:
        return {e["id"]: e for e in map(json.loads, f)}


def story(e):
    """The person a "Where is P?" example asks about, and the moves of its
    story in order, (person, place) each."""
    who = re.match(r"Where is (.+)\?", e["query"]).group(1)
    return who, re.findall(r"([A-Z][a-z]+) [a-z ]+? to the ([a-z ]+)\.", e["context"])


def main(data_path, results_path):
    data = examples(data_path)
    found = n = kept = about = 0
    for line in open(results_path, encoding="utf-8"):
        r = json.loads(line)
        if r.get("mode") != "wim" or r["id"] not in data:
            continue
        e = data[r["id"]]
        who, story_moves = story(e)
        moves = [place for name, place in story_moves if name == who]
        if not moves:
            continue
        n += 1
        place = moves[-1]
        notes = [m["text"] for m in r.get("margins", []) if m.get("relevant")]
        found += any(who in t and place in t for t in notes)
        kept += len(notes)
        about += sum(who in t for t in notes)
    p, lo, hi = wilson(found, n)
    q, qlo, qhi = wilson(about, kept)
    print(f"| {data_path.split('/')[-1]} | {n} | {p:.3f} [{lo:.3f}, {hi:.3f}] | "
          f"{kept} | {q:.3f} [{qlo:.3f}, {qhi:.3f}] |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
