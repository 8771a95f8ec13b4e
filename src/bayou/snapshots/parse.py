"""Reading an uploaded import: CSV, JSON Lines, a JSON array or a snapshot ZIP, as the
tables and files it holds (ops-surface.md §3.3), with Convex's error texts.

    csv        the header row names the fields; a cell that reads as a number is a
               float64, any other cell a string
    jsonLines  one Convex-encoded JSON object per line (plain numbers are float64)
    jsonArray  one top-level array of such objects (at most 16 MiB: use JSON Lines beyond)
    zip        the layout of `snapshots.export`; with `generated_schema.jsonl` "uniform",
               JSON integers are int64 and decimals float64; entries under
               `_components/<name>/` (nested for child components) belong to that
               component, whose path is the names joined with `/`

Rows are parsed lazily, as the import writes them, so a large file is never in memory at
once and is read once. Every error names the row, line or ZIP entry; the import writes
into hidden tables until the last row is read, so an error leaves the deployment as it was.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from bayou.errors import BadRequest, BayouError
from bayou.values import json as vjson
from bayou.values.limits import field_name_error, identifier_error

JSON_ARRAY_LIMIT = 16 * 1024 * 1024
_NUMBER = re.compile(
    r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)$", re.I
)

Row = tuple[int, dict[str, Any]]


class ImportError_(BadRequest):
    """An import file that cannot be imported; the message names the row or entry."""

    default_code = "ImportFailed"


@dataclass
class Table:
    """One table of an import: its component (path; "" for the app), its name, its number
    in the source (ZIP `_tables`), and a way to read its rows."""

    name: str
    rows: Callable[[], Iterator[Row]]
    number: int | None = None
    component: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.component, self.name)

    @property
    def label(self) -> str:
        """How messages name it: `table`, or `component:table` inside a component."""
        return label(self.component, self.name)


def label(component: str, name: str) -> str:
    """`name`, or `component:name` for a table of a component."""
    return f"{component}:{name}" if component else name


@dataclass
class StoredFile:
    """A file of a ZIP's `_storage`: its metadata and the entry holding its bytes."""

    id: str
    creation_time: float | None
    sha256: str | None
    size: int | None
    content_type: str | None
    entry: str
    component: str = ""


@dataclass
class Source:
    """What an import file holds."""

    tables: list[Table] = field(default_factory=list)
    # The files of each component whose `_storage` the ZIP has ("" for the app's).
    files: dict[str, list[StoredFile]] = field(default_factory=dict)
    zip: zipfile.ZipFile | None = None

    @property
    def all_files(self) -> list[StoredFile]:
        return [f for files in self.files.values() for f in files]

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def open_source(path: Path, format: str, table: str | None, component: str = "") -> Source:
    """The tables of an uploaded file (`format` as the CLI names it), in `component` (a
    component path; a ZIP's `_components/` entries are relative to it)."""
    component = _check_component_path(component or "")
    if format == "zip":
        return _open_zip(path, component)
    if table is None:
        raise ImportError_(f"The `--table` option is required for format {format}")
    _check_table_name(table)
    readers = {"csv": _csv_rows, "jsonLines": _jsonl_rows, "jsonArray": _json_array_rows}
    reader = readers.get(format)
    if reader is None:
        raise ImportError_(
            f"Unknown import format {format!r}: use csv, jsonLines, jsonArray or zip"
        )
    return Source(tables=[Table(table, lambda: reader(path), component=component)])


def _check_component_path(path: str) -> str:
    for name in path.split("/") if path else ():
        _check_component_name(name)
    return path


def _check_component_name(name: str) -> None:
    problem = identifier_error(name)
    if problem is not None or name.startswith("_"):
        why = problem if problem is not None else "it starts with an underscore"
        raise ImportError_(f"{name!r} isn't a valid component name: {why}")


def _check_table_name(name: str) -> None:
    problem = identifier_error(name)
    if problem is not None:
        raise ImportError_(f"{name!r} isn't a valid table name: {problem}")


def _object(obj: Any, row: int, decode: Callable[[Any], Any]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ImportError_(f"Row {row} wasn't an object")
    try:
        value = decode(obj)
    except BayouError as e:
        raise ImportError_(f"Row {row} wasn't a valid Convex value: {e.message}") from None
    if not isinstance(value, dict):
        raise ImportError_(f"Row {row} wasn't an object")
    return value


def _json_lines(stream: io.BufferedIOBase | IO_, decode: Callable[[Any], Any]) -> Iterator[Row]:
    for lineno, line in enumerate(stream, start=1):
        if lineno == 1 and line.startswith(b"\xef\xbb\xbf"):
            raise ImportError_("UTF-8 BOM is not supported. Please save your file without BOM.")
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            raise ImportError_(f"Row {lineno} wasn't valid JSON: {e}") from None
        yield lineno, _object(obj, lineno, decode)


IO_ = Any  # a binary file object (zip entries are not io.BufferedIOBase)


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with path.open("rb") as f:
        yield from _json_lines(f, vjson.from_json)


def _json_array_rows(path: Path) -> Iterator[Row]:
    size = path.stat().st_size
    if size > JSON_ARRAY_LIMIT:
        raise ImportError_(
            f"Import is too large for JSON ({size} bytes > maximum {JSON_ARRAY_LIMIT}). "
            "Consider converting data to JSONLines"
        )
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        raise ImportError_("UTF-8 BOM is not supported. Please save your file without BOM.")
    try:
        parsed = orjson.loads(data) if data.strip() else []
    except orjson.JSONDecodeError as e:
        raise ImportError_(f"Not valid JSON: {e}") from None
    if not isinstance(parsed, list):
        raise ImportError_("Not a JSON array")
    for i, obj in enumerate(parsed, start=1):
        yield i, _object(obj, i, vjson.from_json)


def _cell(text: str) -> Any:
    if _NUMBER.match(text.strip()):
        return float(text)
    return text


def _csv_rows(path: Path) -> Iterator[Row]:
    with path.open("r", encoding="utf-8", newline="") as f:
        try:
            first = f.read(1)
        except UnicodeDecodeError as e:
            raise ImportError_(f"Import wasn't valid UTF8: {e}") from None
        if first == "\ufeff":
            raise ImportError_("UTF-8 BOM is not supported. Please save your file without BOM.")
        f.seek(0)
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if header is None:
                if first:
                    raise ImportError_("CSV file doesn't have headers")
                return  # an empty file (`/dev/null`): no rows
            fields = [h.strip() for h in header]
            for name in fields:
                problem = field_name_error(name)
                if problem is not None or (
                    name.startswith("_") and name not in ("_id", "_creationTime")
                ):
                    why = problem.message if problem is not None else "reserved for system fields"
                    raise ImportError_(f"CSV header {name!r} isn't a valid field name: {why}")
            for row in reader:
                lineno = reader.line_num
                if not row:
                    continue
                if len(row) != len(fields):
                    raise ImportError_(
                        f"CSV row {lineno} doesn't have all of the fields in the header"
                    )
                value = {name: _cell(cell) for name, cell in zip(fields, row, strict=True)}
                if "_creationTime" in value and not isinstance(value["_creationTime"], float):
                    raise ImportError_(f"CSV row {lineno}: `_creationTime` must be a number")
                yield lineno, value
        except csv.Error as e:
            raise ImportError_(f"Failed to parse CSV row {reader.line_num}: {e}") from None
        except UnicodeDecodeError as e:
            raise ImportError_(f"Import wasn't valid UTF8: {e}") from None


# -- ZIP ------------------------------------------------------------------------------


def _safe(name: str) -> bool:
    if name.startswith("/") or "\\" in name or "\x00" in name:
        return False
    return all(part not in ("..", "") for part in PurePosixPath(name).parts) and ":" not in name


def _open_zip(path: Path, base: str = "") -> Source:
    if path.stat().st_size == 0:
        return Source()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ImportError_(
            f"The file is not a valid ZIP archive ({e}): it may be truncated or corrupt. "
            "Export it again and import the new file."
        ) from None
    try:
        return _zip_source(zf, base)
    except BaseException:
        zf.close()
        raise


def split_component(name: str) -> tuple[str, str]:
    """A ZIP entry's component path (its `_components/<name>/` prefixes) and the rest."""
    parts = name.split("/")
    names: list[str] = []
    while len(parts) > 2 and parts[0] == "_components":
        names.append(parts[1])
        parts = parts[2:]
    return "/".join(names), "/".join(parts)


def _zip_source(zf: zipfile.ZipFile, base: str = "") -> Source:
    names = [i.filename for i in zf.infolist() if not i.is_dir()]
    for name in names:
        if not _safe(name):
            raise ImportError_(
                f"ZIP entry {name!r} is not a valid path (absolute, or going up with '..'): "
                "this is not a snapshot export."
            )
    by_component: dict[str, dict[str, str]] = {}  # component → {relative name: entry}
    for name in names:
        component, rest = split_component(name)
        _check_component_path(component)
        by_component.setdefault(component, {})[rest] = name
    source = Source(zip=zf)
    for component, entries in sorted(by_component.items()):
        path = "/".join(p for p in (base, component) if p)
        _component_source(zf, source, path, entries)
    return source


def _component_source(
    zf: zipfile.ZipFile, source: Source, component: str, entries: dict[str, str]
) -> None:
    """The tables and files of one component of a ZIP (`entries`: its own, by the name
    relative to its `_components/…/` prefix)."""
    numbers: dict[str, int] = {}
    tables_entry = entries.get("_tables/documents.jsonl")
    if tables_entry is not None:
        for lineno, row in _zip_jsonl(zf, tables_entry, uniform=True):
            name, number = row.get("name"), row.get("id")
            if not isinstance(name, str):
                raise ImportError_(f"{tables_entry} row {lineno}: table requires name")
            if number is not None:
                numbers[name] = int(number.value if hasattr(number, "value") else number)
    for relative, entry in sorted(entries.items()):
        parts = relative.split("/")
        if len(parts) != 2 or parts[1] != "documents.jsonl":
            continue
        table = parts[0]
        if table.startswith("_"):
            continue  # system tables (`_tables` read above, `_storage` below, others skipped)
        _check_table_name(table)
        schema = entries.get(f"{table}/generated_schema.jsonl")
        uniform = schema is not None and _is_uniform(zf, schema)
        source.tables.append(
            Table(
                table,
                (lambda n=entry, u=uniform: _zip_jsonl(zf, n, uniform=u)),
                number=numbers.get(table),
                component=component,
            )
        )
    if "_storage/documents.jsonl" in entries:
        source.files[component] = _storage_files(zf, component, entries)


def _is_uniform(zf: zipfile.ZipFile, name: str) -> bool:
    """Whether a `generated_schema.jsonl` says "uniform" (without one, Convex infers plain
    JSON: numbers are float64)."""
    with zf.open(name) as f:
        first = f.readline().strip()
    return first == b'"uniform"'


def _zip_jsonl(zf: zipfile.ZipFile, name: str, *, uniform: bool) -> Iterator[Row]:
    decode = vjson.from_export_json if uniform else vjson.from_json
    try:
        with zf.open(name) as f:
            yield from _json_lines(f, decode)
    except ImportError_ as e:
        raise ImportError_(f"{name}: {e.message}") from None
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ImportError_(f"ZIP entry {name!r} is corrupt ({e}): export the data again.") from None
    except Exception as e:  # zlib.error and friends from a damaged entry
        if type(e).__module__ == "zlib":
            raise ImportError_(
                f"ZIP entry {name!r} is corrupt ({e}): export the data again."
            ) from None
        raise


def _storage_files(
    zf: zipfile.ZipFile, component: str, entries: dict[str, str]
) -> list[StoredFile]:
    by_stem: dict[str, str] = {}
    for relative, entry in entries.items():
        if relative.startswith("_storage/") and relative != "_storage/documents.jsonl":
            stem = relative.removeprefix("_storage/").split(".", 1)[0]
            by_stem[stem] = entry
    listing = entries["_storage/documents.jsonl"]
    files: list[StoredFile] = []
    for lineno, row in _zip_jsonl(zf, listing, uniform=True):
        file_id = row.get("_id")
        if not isinstance(file_id, str):
            raise ImportError_(f"{listing} row {lineno}: a file needs an `_id`")
        entry = by_stem.get(file_id)
        if entry is None:
            raise ImportError_(
                f"{listing} row {lineno}: the file {file_id} has no `_storage/<id>` entry in "
                "the ZIP"
            )
        size = row.get("size")
        creation = row.get("_creationTime")
        files.append(
            StoredFile(
                id=file_id,
                creation_time=float(creation) if creation is not None else None,
                sha256=row.get("sha256"),
                size=int(size.value if hasattr(size, "value") else size)
                if size is not None
                else None,
                content_type=row.get("contentType"),
                entry=entry,
                component=component,
            )
        )
    return files
