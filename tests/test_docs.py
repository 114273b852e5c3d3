"""The documentation: every generated table equals its source (the code, bench/results),
every table the generator knows is quoted somewhere, the README stays an entry point of
at most 16 KB, and every relative link leads to a file."""

import re
from pathlib import Path

import pytest

from vsq_accel.bench import tables

ROOT = Path(__file__).resolve().parents[1]
MARKDOWN = [*tables.DOCUMENTS, ROOT / "CONTRIBUTING.md"]


def test_every_generated_table_equals_its_source():
    assert tables.drift() == [], "run `make docs`"


def test_every_table_is_quoted():
    text = "".join(path.read_text() for path in tables.DOCUMENTS)
    assert {name for name in tables.TABLES if f"<!-- table: {name} -->" not in text} == set()


def test_a_stale_table_is_found(tmp_path, monkeypatch):
    """The check can fail: a figure edited by hand is reported."""
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text()
    readme.write_text(re.sub(r"\| 0\.\d+ \|", "| 0.5 |", text, count=1))
    monkeypatch.setattr(tables, "DOCUMENTS", [readme])
    monkeypatch.setattr(tables, "ROOT", tmp_path)
    assert tables.drift() == [(Path("README.md"), "headline")]


def test_the_readme_is_an_entry_point():
    assert len((ROOT / "README.md").read_bytes()) <= 16 * 1024


@pytest.mark.parametrize("path", MARKDOWN, ids=[path.name for path in MARKDOWN])
def test_every_relative_link_leads_to_a_file(path):
    links = re.findall(r"\]\(([^)#]+)\)", path.read_text())
    missing = [link for link in links if "://" not in link
               and not (path.parent / link).exists()]
    assert missing == []
