#!/usr/bin/env bash
# The main job: screen the embedded model (SmolLM2-135M-Instruct) with the default experiment
# (every level L1-L3 and every subtype once, plus the no-background control) and print the
# study's tables. Results land in runs/; `trainrisk show runs/<dir>` traces any cell.
set -eu
cd "$(dirname "$0")/.."
exec .venv/bin/trainrisk screen "$@"
