"""Reading the feeder's data sources: JSON over HTTP, CSV files.

Theory of operation
-------------------
A source yields one *document*: the parsed JSON body of an HTTP GET, or the
last data row of a CSV file as ``{column: text}``. ``lookup`` then takes a
field out of it (a dotted path for JSON, ``a.b.0.c``; a column name for CSV)
as an exact ``Decimal``; JSON numbers are parsed as decimals, never floats.

Everything that can go wrong with someone else's data is a ``SourceError``
with a message saying what: the host is down or slow (httpx timeouts are
per source), the status is not 2xx, the body is not JSON, the file is
missing or empty, the field is absent, the value is not a finite number.
The feeder logs it and goes on without that source; nothing here raises
anything else for bad data.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import httpx

from node.oracle.config import CsvSource, HttpSource

MAX_BODY: Final = 4 * 1024 * 1024  # a health feed is small; anything bigger is garbage
MAX_CSV: Final = 16 * 1024 * 1024


class SourceError(Exception):
    """A source that could not give a usable document or value; the message says why."""


def fetch_http(source: HttpSource, client: httpx.Client) -> Any:
    """GET the source's URL and parse the body as JSON (numbers as Decimal)."""
    try:
        response = client.get(source.url, timeout=source.timeout, headers=source.headers)
    except httpx.TimeoutException:
        raise SourceError(f"{source.url} did not answer within {source.timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"{source.url} is unreachable: {exc}") from None
    if not 200 <= response.status_code < 300:
        raise SourceError(f"{source.url} answered HTTP {response.status_code}")
    if len(response.content) > MAX_BODY:
        raise SourceError(f"{source.url} sent {len(response.content)} bytes, more than allowed")
    try:
        return json.loads(response.content, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{source.url} did not send JSON: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a source may send")


def read_csv(source: CsvSource) -> dict[str, str]:
    """The last data row of the CSV file, by its header."""
    try:
        raw = source.path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {source.path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CSV:
        raise SourceError(f"{source.path} is larger than {MAX_CSV} bytes")
    try:
        text = raw.decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text), delimiter=source.delimiter))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SourceError(f"{source.path} is not a readable CSV file: {exc}") from None
    rows = [row for row in rows if any((v or "").strip() for v in row.values())]
    if not rows:
        raise SourceError(f"{source.path} has no data row")
    last = rows[-1]
    return {str(k).strip(): (v or "").strip() for k, v in last.items() if k is not None}


def lookup(document: Any, field: str) -> Decimal:
    """The number at ``field`` (dotted path; list items by index) as a finite Decimal."""
    value = document
    for part in field.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise SourceError(f"field {field!r} is missing (at {part!r})")
    if isinstance(value, bool) or value is None:
        raise SourceError(f"field {field!r} is {value!r}, not a number")
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.replace("_", "x"))  # "1_000" is not a reading
        except InvalidOperation:
            raise SourceError(f"field {field!r} is {value[:40]!r}, not a number") from None
    else:
        raise SourceError(f"field {field!r} is a {type(value).__name__}, not a number")
    if not number.is_finite():
        raise SourceError(f"field {field!r} is {value!r}, not a finite number")
    return number


def read_source(source: HttpSource | CsvSource, client: httpx.Client) -> Any:
    """The source's document (``SourceError`` if it is down or garbage)."""
    if isinstance(source, HttpSource):
        return fetch_http(source, client)
    return read_csv(source)
