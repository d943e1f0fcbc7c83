"""The markdown preview jobkit attaches to every Spark materialization (pure helper, no Spark session)."""

from __future__ import annotations

import jobkit


def test_markdown_table_escapes_pipes_newlines_and_shows_null():
    table = jobkit.markdown_table(["carrier", "a|b"], [("UA", None), ("x|y", "line1\nline2"), ("back\\slash", 1.5)])
    assert table.splitlines() == [
        "| carrier | a\\|b |",
        "|---|---|",
        "| UA | null |",
        "| x\\|y | line1 line2 |",
        "| back\\\\slash | 1.5 |",
    ]
    # every row has as many unescaped cell separators as the header
    for line in table.splitlines():
        assert line.replace("\\\\", "").replace("\\|", "").count("|") == 3


def test_markdown_table_cuts_long_cells():
    (row,) = jobkit.markdown_table(["text"], [("z" * 500,)]).splitlines()[2:]
    assert len(row) == len("|  |") + jobkit.PREVIEW_CELL_CHARS and row.endswith("… |")
