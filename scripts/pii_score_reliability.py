#!/usr/bin/env python3
"""How often a finding of each score band was right: the table reviewers read before moving a
threshold in fixtures/ner/default.toml.

For every predicted span (from `promptveil eval pii --predictions OUT`), counts it correct
when a gold span of the same label overlaps it, and prints per label and score band (0.1 wide)
the number of findings and the share correct. Usage:

    python3 scripts/pii_score_reliability.py GOLD.jsonl PREDICTIONS.jsonl
"""
import collections
import json
import sys


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        gold = {g["id"]: g for g in map(json.loads, filter(str.strip, f))}
    bands = collections.defaultdict(lambda: [0, 0])
    with open(sys.argv[2], encoding="utf-8") as f:
        for record in map(json.loads, filter(str.strip, f)):
            spans = gold.get(record["id"], {"spans": []})["spans"]
            for p in record["spans"]:
                right = any(
                    g["label"] == p["label"] and g["start"] < p["end"] and p["start"] < g["end"]
                    for g in spans
                )
                band = min(int(p.get("score", 1.0) * 10), 9) / 10
                bands[(p["label"], band)][0] += 1
                bands[(p["label"], band)][1] += right
    print("| label | score | findings | correct |")
    print("|---|---|---:|---:|")
    for (label, band), (n, right) in sorted(bands.items()):
        print(f"| {label} | {band:.1f}–{band + 0.1:.1f} | {n} | {right / n:.2f} |")


if __name__ == "__main__":
    main()
