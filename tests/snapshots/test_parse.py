"""Reading import files: formats, encodings and the errors that name the row or entry."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bayou.snapshots.parse import ImportError_, open_source
from bayou.values import Int64


def _rows(path: Path, fmt: str, table: str | None = "t") -> list:
    source = open_source(path, fmt, table if fmt != "zip" else None)
    return [(t.name, list(t.rows())) for t in source.tables]


def test_csv_cells_that_read_as_numbers_are_float64(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("n, name ,x\n1,one,1e3\n-2.5,two,NaN-ish\n")
    [(_, rows)] = _rows(path, "csv")
    assert [v for _, v in rows] == [
        {"n": 1.0, "name": "one", "x": 1000.0},
        {"n": -2.5, "name": "two", "x": "NaN-ish"},
    ]


@pytest.mark.parametrize(
    ("fmt", "content", "message"),
    [
        ("csv", "a,$b\n1,2\n", "CSV header '$b' isn't a valid field name"),
        ("csv", "a,b\n1\n", "CSV row 2 doesn't have all of the fields in the header"),
        ("jsonLines", '{"a": 1}\nnot json\n', "Row 2 wasn't valid JSON"),
        ("jsonLines", '{"a": 1}\n"text"\n', "Row 2 wasn't an object"),
        ("jsonLines", "\ufeff{}\n", "UTF-8 BOM is not supported"),
        ("jsonArray", '{"a": 1}', "Not a JSON array"),
        ("jsonArray", '[{"a": 1}, 3]', "Row 2 wasn't an object"),
        ("jsonLines", '{"$bad": 1}\n', "Row 1 wasn't a valid Convex value"),
    ],
)
def test_bad_files_name_the_row(tmp_path: Path, fmt: str, content: str, message: str) -> None:
    path = tmp_path / "f"
    path.write_text(content)
    with pytest.raises(ImportError_, match=message.replace("$", r"\$")):
        _rows(path, fmt)


def test_an_empty_file_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    for fmt in ("csv", "jsonLines", "jsonArray"):
        assert _rows(path, fmt) == [("t", [])]
    assert _rows(path, "zip") == []


def test_zip_tables_read_integers_as_int64_only_when_uniform(tmp_path: Path) -> None:
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("u/documents.jsonl", '{"n": 5, "f": 5.0}\n')
        zf.writestr("u/generated_schema.jsonl", '"uniform"\n')
        zf.writestr("plain/documents.jsonl", '{"n": 5}\n')
        zf.writestr("_scheduled_functions/documents.jsonl", '{"x": 1}\n')
    tables = dict(_rows(path, "zip"))
    assert tables["u"] == [(1, {"n": Int64(5), "f": 5.0})]
    assert tables["plain"] == [(1, {"n": 5.0})]
    assert "_scheduled_functions" not in tables  # system tables other than _storage: skipped


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs/documents.jsonl", "a/../../b"])
def test_zip_entries_that_leave_the_archive_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name, "x")
    with pytest.raises(ImportError_, match="is not a valid path"):
        open_source(path, "zip", None)


def test_a_corrupt_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.zip"
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ImportError_, match="not a valid ZIP archive"):
        open_source(path, "zip", None)


def test_a_storage_row_without_its_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("_storage/documents.jsonl", '{"_id": "abc", "size": 1}\n')
    with pytest.raises(ImportError_, match="the file abc has no `_storage/<id>` entry"):
        open_source(path, "zip", None)


def test_zip_entries_under_components_belong_to_their_component(tmp_path: Path) -> None:
    path = tmp_path / "c.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("_tables/documents.jsonl", '{"name": "t", "id": 10001}\n')
        zf.writestr("t/documents.jsonl", '{"a": 1}\n')
        zf.writestr("_components/notes/_tables/documents.jsonl", '{"name": "t", "id": 10005}\n')
        zf.writestr("_components/notes/t/documents.jsonl", '{"b": 2}\n')
        nested = "_components/pool/_components/worker/"
        zf.writestr(nested + "jobs/documents.jsonl", '{"c": 3}\n')
        zf.writestr(nested + "_storage/documents.jsonl", "")
    source = open_source(path, "zip", None)
    found = {(t.component, t.name): (t.number, [v for _, v in t.rows()]) for t in source.tables}
    assert found == {
        ("", "t"): (10001, [{"a": 1.0}]),
        ("notes", "t"): (10005, [{"b": 2.0}]),
        ("pool/worker", "jobs"): (None, [{"c": 3.0}]),
    }
    assert source.files == {"pool/worker": []}
    based = open_source(path, "zip", None, "outer")
    assert {t.component for t in based.tables} == {"outer", "outer/notes", "outer/pool/worker"}


@pytest.mark.parametrize("name", ["_components/_x/t/documents.jsonl", "_components/a-b/t/x"])
def test_zip_component_names_must_be_identifiers(tmp_path: Path, name: str) -> None:
    path = tmp_path / "c.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name, "{}\n")
    with pytest.raises(ImportError_, match="isn't a valid component name"):
        open_source(path, "zip", None)
