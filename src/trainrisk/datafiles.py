"""Reading the project's data files (YAML), with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from trainrisk.errors import DataError


def read_yaml(path: Path, expect: type, what: str) -> Any:
    """The YAML document in path, which must be a `expect` (dict or list) of `what`."""
    if not path.is_file():
        raise DataError(path, "missing file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(path, f"not valid YAML: {exc}") from None
    if not isinstance(raw, expect):
        kind = "mapping" if expect is dict else "list"
        raise DataError(path, f"expected a {kind} of {what}")
    return raw
