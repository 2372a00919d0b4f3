#!/usr/bin/env bash
# The main job: judge the example completions shipped with the project.
set -eu
cd "$(dirname "$0")/.."
for f in examples/completions/*.md; do
  echo "== $f"
  .venv/bin/trainrisk judge --completion "$f"
  echo
done
