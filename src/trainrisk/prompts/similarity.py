"""Near-duplicate detection for hand-written texts (prompts, documents).

Two texts are near-duplicates when their character-level similarity exceeds a ratio, or when
they share a run of eight or more words: the signature of one template with blanks filled in.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from itertools import combinations

SHINGLE = 8


def _words(text: str) -> list[str]:
    """Lower-case words, leaving out placeholders, `fields`, paths, hosts and addresses: those
    are facts texts share by design."""
    text = re.sub(r"\{\w+\}|`[^`]*`|[\w.:-]*/[\w./-]+|\b[\w-]+(?:\.[\w-]+)+\b", " ", text.lower())
    return re.findall(r"[a-z0-9']+", text)


def _shingles(text: str) -> set[tuple[str, ...]]:
    """Every run of SHINGLE consecutive words."""
    w = _words(text)
    return {tuple(w[i : i + SHINGLE]) for i in range(len(w) - SHINGLE + 1)}


def near_duplicates(texts: dict[str, str], ratio: float = 0.6) -> list[tuple[str, str, str]]:
    """(id, id, reason) for every pair that looks like one text reworded."""
    words = {k: _words(v) for k, v in texts.items()}
    shingles = {k: _shingles(v) for k, v in texts.items()}
    found = []
    for a, b in combinations(sorted(texts), 2):
        shared = shingles[a] & shingles[b]
        if shared:
            found.append((a, b, "shares the words: " + " ".join(sorted(shared)[0])))
            continue
        m = SequenceMatcher(None, words[a], words[b], autojunk=False)
        if m.real_quick_ratio() > ratio and m.quick_ratio() > ratio and m.ratio() > ratio:
            found.append((a, b, f"similarity {m.ratio():.2f}"))
    return found
