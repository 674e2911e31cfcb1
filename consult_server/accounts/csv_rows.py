"""A CSV file an admin imports, read whole: its header checked against the columns
expected, its size bounded, every line numbered as the person sees it in a spreadsheet.
A bad line is a ``LineError``; the facilities' and the doctors' imports share this.
Pure (``csv`` over text in memory)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass


@dataclass(frozen=True)
class LineError:
    """A bad line: its number, the facility code on it, a stable ``error`` code (the page
    translates ``errors.<error>``), the English ``reason`` and the value at fault."""

    line: int
    code: str
    error: str
    reason: str
    detail: str = ""


def csv_rows(text: str, columns: tuple[str, ...], max_lines: int) -> list[list[str]] | LineError:
    """The file's lines, header included (line 1), or why the file as a whole is
    refused: a header other than ``columns``, more than ``max_lines`` lines."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or [c.strip().lower() for c in rows[0]][: len(columns)] != list(columns):
        header = ",".join(columns)
        return LineError(1, "", "csv_header", f"the first line must be: {header}", header)
    if len(rows) - 1 > max_lines:
        return LineError(
            1, "", "csv_too_long", f"at most {max_lines} lines at once", str(max_lines)
        )
    return rows
