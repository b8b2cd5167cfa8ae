#!/usr/bin/env python3
"""Serve the on-premises SLM: llama.cpp's OpenAI-compatible server (the `xllamacpp` wheel)
with SmolLM2-135M-Instruct, on 127.0.0.1 only.

Prints one line, `listening http://127.0.0.1:PORT`, once the server accepts requests, then
serves until it is killed (or its standard input closes, so a parent that dies takes it
along). Usage:

    assets/.venv/bin/python scripts/slm_server.py --model assets/slm/SmolLM2-135M-Instruct.Q4_1.gguf [--port 0]

Port 0 picks a free port. `scripts/fetch-assets` installs the wheel into assets/.venv and
unpacks the model.
"""
import argparse
import socket
import sys
import threading

import xllamacpp as xlc


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    params = xlc.CommonParams()
    params.model.path = args.model
    params.hostname = "127.0.0.1"
    params.port = args.port or free_port()
    params.n_ctx = args.ctx
    params.n_parallel = 2
    params.cpuparams.n_threads = args.threads
    server = xlc.Server(params)
    print("listening", server.listening_address, flush=True)
    # Serve until stdin closes (the parent went away) or the process is killed.
    done = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()


if __name__ == "__main__":
    main()
