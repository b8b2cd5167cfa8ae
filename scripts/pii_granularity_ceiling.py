#!/usr/bin/env python3
"""The best ADDRESS and LOCATION scores a perfect detector could reach on a gold file.

The evaluation set labels postal addresses two ways: some records mark a whole address as one
ADDRESS span (street, unit, town and country together), others mark its parts (building
number, street, unit and postal code as separate ADDRESS spans, town and country as
LOCATION). The two conventions appear on identically formatted addresses, so no detector can
follow both. This script builds "perfect" predictions from the gold spans themselves under
each convention and scores them with the evaluation's own scorer:

- whole: each run of adjacent ADDRESS/LOCATION/ZIP_CODE gold spans that holds an ADDRESS
  becomes one ADDRESS span (what promptveil reports: one placeholder per address);
- parts: the same run cut at line breaks and commas, before unit words ("Apt.", "Suite") and
  before a trailing postal code; letter-only parts are LOCATION, the rest ADDRESS.

Every other gold span is predicted exactly. Usage:

    python3 scripts/pii_granularity_ceiling.py ../shared/eval/score_pii.py GOLD.jsonl
"""
import importlib.util
import json
import re
import sys
import tempfile

UNIT = re.compile(r"(?i)\b(suite|ste|apt|apartment|unit|flat|room|box|psc)\b\.?")
JOINED = re.compile(r"[\s,>?.]*")


def parts(text, start, end):
    out = []
    for m in re.finditer(r"[^\n,]+", text[start:end]):
        a, b = start + m.start(), start + m.end()
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip(" \t>?-*"))
        body = seg.strip(" \t>?-*.")
        if not body:
            continue
        a += lead
        b = a + len(body)
        pieces = [(a, b)]
        u = UNIT.search(text, a, b)
        if u and u.start() > a:
            pieces = [(a, u.start()), (u.start(), b)]
        for x, y in pieces:
            piece = text[x:y]
            x += len(piece) - len(piece.lstrip())
            piece = piece.strip()
            y = x + len(piece)
            zip_code = re.search(r"\s(\d[\d -]{2,8}\d)$", piece)
            if zip_code and re.search(r"[^\W\d]", piece[: zip_code.start()]) and not UNIT.match(piece):
                out.append((x, x + zip_code.start(), None))
                out.append((x + zip_code.start(1), y, "ADDRESS"))
            else:
                out.append((x, y, None))
    spans = []
    for x, y, label in out:
        if label is None:
            label = "ADDRESS" if re.search(r"\d", text[x:y]) or UNIT.search(text[x:y]) else "LOCATION"
        spans.append({"start": x, "end": y, "label": label})
    return spans


def perfect(gold, mode):
    for g in gold:
        text = g["text"]
        place = sorted(
            (s for s in g["spans"] if s["label"] in ("ADDRESS", "LOCATION", "ZIP_CODE")),
            key=lambda s: s["start"],
        )
        blocks = []
        for s in place:
            if blocks and JOINED.fullmatch(text[blocks[-1][-1]["end"] : s["start"]]):
                blocks[-1].append(s)
            else:
                blocks.append([s])
        pred = [s for s in g["spans"] if s["label"] not in ("ADDRESS", "LOCATION", "ZIP_CODE")]
        for block in blocks:
            if not any(s["label"] == "ADDRESS" for s in block):
                pred += block
                continue
            a, b = block[0]["start"], block[-1]["end"]
            if mode == "whole":
                pred.append({"start": a, "end": b, "label": "ADDRESS"})
            else:
                pred += parts(text, a, b)
        yield {"id": g["id"], "spans": pred}


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    spec = importlib.util.spec_from_file_location("score_pii", sys.argv[1])
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    gold = scorer.load_jsonl(sys.argv[2])
    for mode in ("whole", "parts"):
        pred = list(perfect(gold, mode))
        rep = scorer.score(gold, pred)
        rows = rep["overlap"]["per_label"]
        print(
            f"{mode:5}: ADDRESS overlap F1 {rows['ADDRESS']['f1']:.3f}, "
            f"LOCATION overlap F1 {rows['LOCATION']['f1']:.3f}, "
            f"typed micro overlap F1 {rep['overlap']['micro']['f1']:.3f}"
        )


if __name__ == "__main__":
    main()
