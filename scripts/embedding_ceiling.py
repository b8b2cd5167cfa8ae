#!/usr/bin/env python3
"""How fast can the embedding model go on this machine? Measures the int8 linear layers alone.

Runs the re-quantised all-MiniLM-L6-v2 in onnxruntime (the same runtime version the crate
loads) on batches of 8 texts of TOKENS tokens each, with ONNX Runtime's profiler on, and
splits the time between the int8 linear layers (every MatMulInteger family kernel: the
projections Q, K, V, O and the two feed-forward layers, 10.6 M multiply-adds per token) and
everything else (attention, GELU, layer norms, embeddings). The linear layers' rate is a
ceiling for the whole model: nothing else can be made faster than zero. It also prints the
integer operations per second the linear layers reach, to compare with the processor's peak.

Usage: embedding_ceiling.py [--model PATH] [--tokens N] [--threads N] [--target PASSAGES_PER_S]
(run with assets/.venv/bin/python after scripts/fetch-assets)
"""
import argparse
import collections
import json
import os
import statistics
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

LINEAR = {"DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulInteger", "DynamicQuantizeLinear"}
# The attention's two float matrix products per layer (scores and context).
ATTENTION = {"MatMul", "FusedMatMul"}
LAYERS, HIDDEN = 6, 384
BATCH = 8


def macs_per_token(path):
    """Multiply-adds per token of the int8 linear layers, from the weight shapes."""
    model = onnx.load(path)
    shapes = {t.name: list(t.dims) for t in model.graph.initializer}
    total = 0
    for node in model.graph.node:
        if node.op_type == "MatMulInteger":
            k, n = shapes[node.input[1]]
            total += k * n
    return total


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "assets", "embeddings", "minilm", "model_int8pc.onnx")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=default)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--target", type=float, default=150.0)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    shape = (BATCH, args.tokens)
    feed = {
        "input_ids": rng.integers(1000, 30000, size=shape).astype(np.int64),
        "attention_mask": np.ones(shape, np.int64),
        "token_type_ids": np.zeros(shape, np.int64),
    }
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.log_severity_level = 3
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(tempfile.gettempdir(), "embedding_ceiling")
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    for _ in range(3):
        session.run(None, feed)
    profile = session.end_profiling()
    os.remove(profile)

    # Wall time without the profiler, then the split with it.
    options.enable_profiling = False
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    walls = []
    for _ in range(args.runs):
        start = time.perf_counter()
        session.run(None, feed)
        walls.append(time.perf_counter() - start)
    wall = statistics.median(walls)

    options.enable_profiling = True
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    for _ in range(args.runs):
        session.run(None, feed)
    profile = session.end_profiling()
    with open(profile) as f:
        events = json.load(f)
    os.remove(profile)
    by_op = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"] / 1e6 / args.runs
    kernels = sum(by_op.values())
    linear = sum(t for op, t in by_op.items() if op in LINEAR)
    attention = sum(t for op, t in by_op.items() if op in ATTENTION)
    attention_flops = 4 * args.tokens * args.tokens * HIDDEN * LAYERS * BATCH

    tokens = BATCH * args.tokens
    macs = macs_per_token(args.model)
    print(f"model: {args.model}")
    print(f"batch {BATCH} x {args.tokens} tokens, {args.threads} threads, median of {args.runs} runs")
    print(f"whole model:   {wall * 1000:7.1f} ms per batch -> {BATCH / wall:6.1f} passages/s")
    print(f"int8 linear:   {linear * 1000:7.1f} ms per batch ({100 * linear / kernels:.0f}% of kernel time)"
          f" -> ceiling {BATCH / linear:6.1f} passages/s even if all else took no time")
    print(f"               {macs / 1e6:.1f} M multiply-adds per token: "
          f"{2 * macs * tokens / linear / 1e9:.0f} G int8 operations/s on {args.threads} threads")
    print(f"attention:     {attention * 1000:7.1f} ms per batch for its matrix products "
          f"({attention_flops / attention / 1e9:.0f} G float operations/s)"
          f" -> with the linear layers, ceiling {BATCH / (linear + attention):6.1f} passages/s")
    for op, t in by_op.most_common(8):
        print(f"  {op:26s} {t * 1000:7.1f} ms")
    need = BATCH / args.target
    floor = linear + attention
    verdict = "within" if floor <= need else "beyond"
    print(f"target {args.target:.0f} passages/s = {need * 1000:.1f} ms per batch at {args.tokens} tokens: "
          f"{verdict} the {floor * 1000:.1f} ms the matrix products alone take")


if __name__ == "__main__":
    main()
