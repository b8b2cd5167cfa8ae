#!/usr/bin/env python3
"""How far can any router that reads only the prompt get on MMLU-Pro (Llama-3.1-8B vs GPT-4o)?

Scores, with the evaluation's own scorer, references that know things a router cannot know:
  - the outcomes of the five *other* models on the very same question (Phi-3-mini, Mixtral,
    Llama-70B, Gemini Flash and Pro): a measure of how "hard for small models" each question
    really is, free of any reading of its text;
  - whether the two other small models (Phi-3-mini, Mixtral) failed it;
  - the true mean gap of its discipline, and of its discipline and source, measured on the
    same questions (an in-sample oracle of topic).
If these references, which see the answers, stay near or below a target, a prompt-only router
cannot be expected to reach it: the pair's per-question difference is mostly not predictable
from the question. Usage: python3 scripts/routing_ceiling.py [../shared/eval]
"""
import json
import os
import sys
from collections import defaultdict

EVAL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "eval")
sys.path.insert(0, EVAL)
import score_routing as sr  # noqa: E402

path = os.path.join(EVAL, "routing", "mmlu-pro", "dev.jsonl")
rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
meta = json.load(open(os.path.join(EVAL, "routing", "mmlu-pro", "meta.json"), encoding="utf-8"))
weak, strong = meta["weak"], meta["strong"]
others_small = ["Phi-3-mini-4k-instruct", "Mixtral-8x7B-Instruct-v0.1"]
others_large = ["Llama-3.1-70B-Instruct", "gemini-1.5-flash-002", "gemini-1.5-pro-002"]


def report(name, scores):
    items = [(r["scores"][weak], r["scores"][strong], s) for r, s in zip(rows, scores)]
    m = sr.evaluate(items)["routers"]["pred"]
    print(f"{name:<58} APGR {m['apgr']:.3f}  CPT50 {100 * m['cpt50']:5.1f}%  CPT80 {100 * m['cpt80']:5.1f}%")


def group_mean(key):
    groups = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r["scores"][strong] - r["scores"][weak])
    means = {k: sum(v) / len(v) for k, v in groups.items()}
    return [means[key(r)] for r in rows]


print(f"MMLU-Pro dev, {len(rows)} questions, {weak} -> {strong}")
report("other models' outcomes on the same question (large - small)",
       [sum(r["scores"][m] for m in others_large) / 3 - sum(r["scores"][m] for m in others_small) / 2 for r in rows])
report("the two other small models failed it (0, 1 or 2)",
       [sum(1 - r["scores"][m] for m in others_small) for r in rows])
report("true mean gap of its discipline (in-sample)", group_mean(lambda r: r["category"]))
report("true mean gap of its discipline and source (in-sample)",
       group_mean(lambda r: (r["category"], r["source"].split("-")[0])))
