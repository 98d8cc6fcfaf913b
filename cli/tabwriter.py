"""Column alignment with the rules of Go's text/tabwriter, which kubectl prints through.

A line is split on tabs into cells; every cell but the last on a line belongs to a column. A column's width
is fixed per *column block* (a run of consecutive lines that have a cell in that column): the widest cell plus
`padding`, at least `minwidth`. The last cell of a line is never padded. kubectl uses minwidth 6, padding 3 for
`get` tables and minwidth 0, padding 2 for `describe`.
"""

from __future__ import annotations

GET_MINWIDTH, GET_PADDING = 6, 3
DESCRIBE_MINWIDTH, DESCRIBE_PADDING = 0, 2


def _cell_width(text: str) -> int:
    return len(text)


def align(text: str, minwidth: int = GET_MINWIDTH, padding: int = GET_PADDING) -> str:
    """Align tab-separated `text` (lines end with '\\n') as Go's tabwriter would print it."""
    lines = [line.split("\t") for line in text.split("\n")]
    trailing_newline = text.endswith("\n")
    if trailing_newline:
        lines.pop()
    out: list[str] = []
    _format(lines, 0, len(lines), [], minwidth, padding, out)
    return "\n".join(out) + ("\n" if trailing_newline else "")


def _format(
    lines: list[list[str]],
    line0: int,
    line1: int,
    widths: list[int],
    minwidth: int,
    padding: int,
    out: list[str],
) -> None:
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _write(lines, line0, this, widths, out)
        line0 = this
        width = minwidth
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, _cell_width(lines[this][column]) + padding)
            this += 1
        _format(lines, line0, this, [*widths, width], minwidth, padding, out)
        line0 = this
    _write(lines, line0, line1, widths, out)


def _write(lines: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str]) -> None:
    for cells in lines[line0:line1]:
        parts = []
        for j, cell in enumerate(cells):
            if j < len(widths):
                parts.append(cell + " " * (widths[j] - _cell_width(cell)))
            else:
                parts.append(cell)
        out.append("".join(parts))


def table(rows: list[list[str]], minwidth: int = GET_MINWIDTH, padding: int = GET_PADDING) -> str:
    """Rows of cells as an aligned block of text (each line ends with '\\n')."""
    return align("".join("\t".join(r) + "\n" for r in rows), minwidth, padding)
