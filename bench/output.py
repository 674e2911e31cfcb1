"""A benchmark's report: printed as JSON, and written to ``--json`` when given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(report: Any, path: Path | None, indent: int = 2, ensure_ascii: bool = True) -> None:
    text = json.dumps(report, indent=indent, ensure_ascii=ensure_ascii)
    print(text)
    if path is not None:
        path.write_text(text + "\n")
