#!/usr/bin/env python3
"""Serve the on-premises SLM: llama.cpp's OpenAI-compatible server (the `xllamacpp` wheel)
with SmolLM2-135M-Instruct, on 127.0.0.1 only.

Prints one line, `listening http://127.0.0.1:PORT`, once the server accepts requests, then
serves until it is stopped (SIGTERM, Ctrl-C) — in the background too:

    assets/.venv/bin/python scripts/slm_server.py --model assets/slm/SmolLM2-135M-Instruct.Q4_1.gguf --port 8080 &

Port 0 (the default) picks a free port. With `--exit-with-stdin` it also stops when its
standard input closes, so a parent process that dies takes it along (the quickstart and the
tests start it so). `scripts/fetch-assets` installs the wheel into assets/.venv and unpacks
the model.
"""
import argparse
import signal
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
    ap.add_argument("--exit-with-stdin", action="store_true",
                    help="also stop when standard input closes (for a parent process)")
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
    # Serve until stopped: SIGTERM or Ctrl-C; with --exit-with-stdin, also when standard
    # input closes (the parent went away). In the background (`&`, nohup) standard input is
    # closed or /dev/null from the start, so it is not watched unless asked.
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    if args.exit_with_stdin:
        def watch_stdin():
            sys.stdin.read()
            done.set()

        threading.Thread(target=watch_stdin, daemon=True).start()
    while not done.wait(1.0):
        pass


if __name__ == "__main__":
    main()
