#!/usr/bin/env python3
"""What each NER pass adds or costs: runs `promptveil eval pii --ner` with every pass on, then
with each pass switched off (`--without-pass NAME`), and prints one table row per pass.

Measured on three sets (paths under --eval, the evaluation folder):
  pii/presidio_synth_dev.jsonl  scored with score_pii.py: character recall and precision
                                (labels ignored) and typed overlap F1;
  tab/dev.jsonl                 scored with score_tab.py (TAB's own metrics: ER_di, ER_qi,
                                token recall, token precision); needs a Python with spaCy
                                (--tab-python);
  ir/scifact/corpus.jsonl       the first --scifact abstracts: scientific prose with almost no
                                personal data, so the NER's findings there are nearly all false
                                positives; the table counts them.

A row reads "switching this pass off changes the figure by ...": a pass that helps has negative
recall deltas (recall drops without it); a pass that guards precision has positive SciFact
deltas (more false findings without it).

    python3 scripts/ner_ablation.py --bin target/release/promptveil --eval ../shared/eval \
        --tab-python .venv-tab/bin/python --out eval-out/ablation
"""
import argparse
import json
import os
import subprocess
import sys


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr}")
    return r


def passes(binary):
    out = run([binary, "ner", "inventory", "--json"]).stdout
    return [p["name"] for p in json.loads(out)["passes"]]


def predict(binary, gold, out, without):
    cmd = [binary, "eval", "pii", "--ner", "--gold", gold, "--predictions", out]
    for name in without:
        cmd += ["--without-pass", name]
    run(cmd)


def score_pii(evaldir, gold, pred, tmp):
    run([sys.executable, os.path.join(evaldir, "score_pii.py"), "score", "--gold", gold,
         "--pred", pred, "--json", tmp])
    d = json.load(open(tmp))
    return {
        "char_recall": d["chars"]["recall"],
        "char_precision": d["chars"]["precision"],
        "typed_f1": d["overlap"]["micro"]["f1"],
    }


def score_tab(python, evaldir, gold, pred, tmp):
    run([python, os.path.join(evaldir, "score_tab.py"), "score", "--gold", gold, "--pred", pred,
         "--json", tmp])
    d = json.load(open(tmp))
    return {k: d[k] for k in ("ER_di", "ER_qi", "token_recall", "token_precision")}


def count_findings(pred):
    n = 0
    with open(pred) as f:
        for line in f:
            n += len(json.loads(line)["spans"])
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="promptveil built with cli,ner")
    ap.add_argument("--eval", required=True, help="the evaluation folder (../shared/eval)")
    ap.add_argument("--tab-python", help="a Python with spaCy for score_tab.py (TAB skipped without)")
    ap.add_argument("--scifact", type=int, default=1000, help="abstracts of SciFact to count findings in")
    ap.add_argument("--out", default="eval-out/ablation")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    pii_gold = os.path.join(args.eval, "pii", "presidio_synth_dev.jsonl")
    tab_gold = os.path.join(args.eval, "tab", "dev.jsonl")
    # SciFact abstracts as an unlabelled set: {"id", "text"}.
    sci = os.path.join(args.out, "scifact.jsonl")
    with open(os.path.join(args.eval, "ir", "scifact", "corpus.jsonl")) as src, open(sci, "w") as dst:
        for i, line in enumerate(src):
            if i >= args.scifact:
                break
            d = json.loads(line)
            dst.write(json.dumps({"id": d["_id"], "text": d["title"] + "\n\n" + d["text"]}) + "\n")
    tmp = os.path.join(args.out, "score.json")
    rows = []
    for without in [None] + passes(args.bin):
        tag = without or "all"
        off = [without] if without else []
        row = {"pass": tag}
        p = os.path.join(args.out, f"pii-{tag}.jsonl")
        predict(args.bin, pii_gold, p, off)
        row.update(score_pii(args.eval, pii_gold, p, tmp))
        if args.tab_python:
            p = os.path.join(args.out, f"tab-{tag}.jsonl")
            predict(args.bin, tab_gold, p, off)
            row.update(score_tab(args.tab_python, args.eval, tab_gold, p, tmp))
        p = os.path.join(args.out, f"scifact-{tag}.jsonl")
        predict(args.bin, sci, p, off)
        row["scifact_findings"] = count_findings(p)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    json.dump(rows, open(os.path.join(args.out, "ablation.json"), "w"), indent=1)
    base = rows[0]
    cols = [("char_recall", "PII char R"), ("char_precision", "PII char P"), ("typed_f1", "PII typed F1")]
    if args.tab_python:
        cols += [("ER_di", "TAB ER_di"), ("ER_qi", "TAB ER_qi"), ("token_recall", "TAB tok R"),
                 ("token_precision", "TAB tok P")]
    cols += [("scifact_findings", f"SciFact findings ({args.scifact})")]
    print("| pass switched off | " + " | ".join(c[1] for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    fmt = lambda k, v: f"{v:d}" if isinstance(v, int) else f"{v:.4f}"
    print("| none (all on) | " + " | ".join(fmt(k, base[k]) for k, _ in cols) + " |")
    for r in rows[1:]:
        cells = []
        for k, _ in cols:
            d = r[k] - base[k]
            cells.append("0" if d == 0 else (f"{d:+d}" if isinstance(d, int) else f"{d:+.4f}"))
        print(f"| {r['pass']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
