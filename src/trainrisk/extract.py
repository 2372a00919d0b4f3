"""Find the program in a model's completion, as a code-RL trainer does.

The program is the first fenced python block, else the first untagged fenced block, else the
whole text. A block the model did not close (it ran out of tokens) runs to the end of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_PYTHON_TAGS = {"python", "py", "python3"}


@dataclass(frozen=True)
class Extraction:
    program: str | None
    status: str  # fenced | whole | no_code | syntax_error
    detail: str = ""


def extract_program(completion: str) -> Extraction:
    if not completion or not completion.strip():
        return Extraction(None, "no_code", "the completion is empty")
    blocks = _FENCE.findall(completion)
    chosen = next((code for tag, code in blocks if tag.lower() in _PYTHON_TAGS), None)
    if chosen is None:
        chosen = next((code for tag, code in blocks if not tag), None)
    if chosen is not None:
        if not chosen.strip():
            return Extraction(None, "no_code", "the fenced code block is empty")
        error = _compile_error(chosen)
        if error:
            return Extraction(chosen, "syntax_error", error)
        return Extraction(chosen, "fenced")
    if blocks:
        tags = ", ".join(sorted({t for t, _ in blocks}))
        return Extraction(None, "no_code", f"no python code block (found blocks tagged {tags})")
    error = _compile_error(completion)
    if error:
        return Extraction(
            None, "no_code", f"no fenced code block, and the text is not a Python program ({error})"
        )
    return Extraction(completion, "whole")


def _compile_error(source: str) -> str | None:
    try:
        compile(source, "main.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    except (MemoryError, RecursionError) as exc:
        return f"{type(exc).__name__}: the program is too deeply nested to compile"
    return None
