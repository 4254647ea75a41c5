#!/usr/bin/env bash
# Creates .venv (if missing) and installs codelens with its test, ray, quantize and plots extras (the Ray tests start
# a cluster on loopback, the quantisation tests run bitsandbytes, the model-card plot tests draw with matplotlib; a
# plain install needs none of them), every package at the version in constraints.txt (what CI tested).
# Idempotent. torch goes first, pinned to the CPU build that lies on this kind of machine: an open range would pull
# a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q -c constraints.txt pip
python -m pip install -q -c constraints.txt torch==2.13.0
python -m pip install -q -c constraints.txt -e ".[test,ray,quantize,plots]"
