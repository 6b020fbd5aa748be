"""Shared CSV plumbing: decode, read the header, yield rows with their file line numbers."""

from __future__ import annotations

import csv
import io
from typing import Iterator

from minerva_core.errors import BillFormatError


def decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BillFormatError(None, None, f"the file is not UTF-8 text: {exc}") from None


def normalise_header(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


class CsvRows:
    """A CSV file's header and its data rows as dicts (every column, extra ones included).

    ``rows()`` yields (file line, data row number, row): the header is file line 1, and the
    line is where the record ends (a quoted field may span lines). Blank lines are skipped.
    """

    def __init__(self, content: bytes, *, normalise: bool = False) -> None:
        self._reader = csv.reader(io.StringIO(decode(content), newline=""), strict=True)
        try:
            header = next(self._reader)
        except StopIteration:
            raise BillFormatError(1, None, "the file is empty: a header line is required") from None
        except csv.Error as exc:
            raise BillFormatError(1, None, f"unreadable CSV header: {exc}") from None
        self.header = [normalise_header(h) if normalise else h.strip() for h in header]
        seen: set[str] = set()
        for name in self.header:
            if not name:
                raise BillFormatError(1, None, "the header has an empty column name")
            if name in seen:
                raise BillFormatError(1, name, "the header names this column twice")
            seen.add(name)

    def require(self, columns: tuple[str, ...]) -> None:
        missing = [c for c in columns if c not in self.header]
        if missing:
            raise BillFormatError(1, missing[0], f"required column(s) missing from the header: {', '.join(missing)}")

    def rows(self) -> Iterator[tuple[int, int, dict[str, str]]]:
        number = 0
        while True:
            try:
                values = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise BillFormatError(self._reader.line_num, None, f"unreadable CSV: {exc}") from None
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            line = self._reader.line_num
            if len(values) != len(self.header):
                raise BillFormatError(
                    line, None, f"{len(values)} fields, but the header has {len(self.header)} columns"
                )
            number += 1
            yield line, number, dict(zip(self.header, values))
