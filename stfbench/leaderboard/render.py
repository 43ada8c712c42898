"""Render a `Leaderboard` as LaTeX (booktabs), Markdown, CSV or JSON — deterministic text, no timestamps,
values at each metric's printed precision (so regenerating a table gives identical files)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

from stfbench.leaderboard.table import Cell, Leaderboard, MetricColumn, Row

FORMATS = ("latex", "markdown", "csv", "json")
MISSING = "–"
INFINITE = "∞"  # e.g. PSNR of the ground truth against itself (LaTeX: $\infty$)


def render(
    board: Leaderboard, fmt: str, *, standalone: bool = True, caption: str | None = None, width: str | None = None
) -> str:
    """Text of the table in `fmt` (latex, markdown, csv, json); `width` (LaTeX only, see `latex_width`)."""
    if fmt == "latex":
        return render_latex(board, standalone=standalone, caption=caption, width=width)
    if fmt == "markdown":
        return render_markdown(board)
    if fmt == "csv":
        return render_csv(board)
    if fmt == "json":
        return render_json(board)
    raise ValueError(f"unknown format {fmt!r} (choose {', '.join(FORMATS)})")


def format_value(cell: Cell | None, column: MetricColumn, show_ci: bool = False, pm: str = "±") -> str:
    """`12.345`, `12.345 ± 0.210` (half-width of the 95 % CI), `∞` / `-∞` for infinite, `–` for missing."""
    if cell is None or cell.mean is None or math.isnan(cell.mean):
        return MISSING
    if math.isinf(cell.mean):
        return INFINITE if cell.mean > 0 else f"-{INFINITE}"
    text = f"{cell.mean:.{column.decimals}f}"
    half = format_half_width(cell, column) if show_ci else None
    if half is not None:
        text += f" {pm} {half}"
    return text


def format_half_width(cell: Cell | None, column: MetricColumn) -> str | None:
    """Half-width of the cell's 95 % CI at the column's precision; None without a finite value and CI."""
    if cell is None or cell.mean is None or not math.isfinite(cell.mean) or cell.ci95 is None:
        return None
    if not all(math.isfinite(v) for v in cell.ci95):
        return None
    return f"{(cell.ci95[1] - cell.ci95[0]) / 2:.{column.decimals}f}"


def format_counts(row: Row, protocol_id: str) -> str:
    scored, expected = row.counts.get(protocol_id, (0, 0))
    return "" if scored == expected else f"{scored}/{expected}"


# ---------------------------------------------------------------- LaTeX

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "±": r"$\pm$",
    "–": "--",
    "×": r"$\times$",
    "…": r"\ldots{}",
    "∞": r"$\infty$",
    "Δ": r"$\Delta$",
    "−": "$-$",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


#: `--width` names: the tabular is scaled to `\<name>` (a two-column paper's column is `\columnwidth`).
WIDTH_NAMES = ("linewidth", "columnwidth", "textwidth")
#: A two-column paper's column (IEEE, ACM, AAAI: 240–252 pt); wider fragments get a hint to pass --width.
COLUMN_PT = 252.0


def latex_width(width: str) -> str:
    r"""`linewidth` → `\linewidth` (also columnwidth, textwidth); a TeX length such as `8.5cm` or `252pt` as given."""
    if width.lstrip("\\") in WIDTH_NAMES:
        return "\\" + width.lstrip("\\")
    if re.fullmatch(r"\d+(\.\d+)?(pt|mm|cm|in|bp|em)", width):
        return width
    raise ValueError(f"--width {width}: give {', '.join(WIDTH_NAMES)} or a length such as 8.5cm")


def _latex_value(text: str) -> str:
    """A printed value, escaped, with a real minus sign (`-2.88` → `$-$2.88`: a bare `-` prints as a hyphen)."""
    negative = re.match(r"-\d", text) is not None
    return "$-$" + latex_escape(text[1:]) if negative else latex_escape(text)


def render_latex(
    board: Leaderboard, *, standalone: bool = True, caption: str | None = None, width: str | None = None
) -> str:
    """booktabs table; `standalone` wraps it in a compilable article document; `width` (see `latex_width`) scales
    the tabular to that width with graphicx's \\resizebox."""
    resize = None if width is None else latex_width(width)
    spec = "l" + "".join(" " + "c" * (len(g.columns) + g.show_counts) for g in board.groups)
    lines = [r"\begin{table}[t]", r"\centering", r"\small"]
    if resize is not None:
        lines.append(rf"\resizebox{{{resize}}}{{!}}{{%")
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    header_groups, rules, col = ["Method"], [], 2
    for group in board.groups:
        width_cols = len(group.columns) + group.show_counts
        header_groups.append(rf"\multicolumn{{{width_cols}}}{{c}}{{{latex_escape(group.title)}}}")
        rules.append(rf"\cmidrule(lr){{{col}-{col + width_cols - 1}}}")
        col += width_cols
    lines.append(" & ".join(header_groups) + r" \\")
    lines.append(" ".join(rules))
    headers = [""]
    for group in board.groups:
        headers += [latex_escape(c.display + c.direction) for c in group.columns]
        headers += ["$n$"] if group.show_counts else []
    lines.append(" & ".join(headers) + r" \\")
    lines.append(r"\midrule")
    previous_group = None
    for row in board.rows:
        if previous_group is not None and row.group != previous_group:
            lines.append(r"\midrule")
        previous_group = row.group
        cells, halves = [latex_escape(row.label)], [""]
        for group in board.groups:
            for column in group.columns:
                cell = row.cells.get((group.id, column.key))
                text = _latex_value(format_value(cell, column))
                cells.append(rf"\textbf{{{text}}}" if cell is not None and cell.best else text)
                half = format_half_width(cell, column) if board.show_ci else None
                halves.append(rf"{{\scriptsize $\pm${half}}}" if half is not None else "")
            if group.show_counts:
                cells.append(format_counts(row, group.id))
                halves.append("")
        lines.append(" & ".join(cells) + r" \\")
        if any(halves):
            lines.append(" & ".join(halves) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if resize is not None:
        lines.append("}")
    text = " ".join(board.footnotes)
    lines.append(rf"\caption{{{latex_escape(caption + ' ' if caption else '')}{latex_escape(text)}}}")
    lines += [r"\label{tab:stfbench}", r"\end{table}"]
    body = "\n".join(lines)
    if not standalone:
        needs = [r"% \resizebox needs \usepackage{graphicx} (and booktabs, as always)"] if resize else []
        return "\n".join([*needs, body]) + "\n"
    wide = sum(len(g.columns) + g.show_counts for g in board.groups) > 8
    preamble = [
        r"\documentclass{article}",
        r"\usepackage[T1]{fontenc}",
        r"\usepackage[utf8]{inputenc}",
        r"\usepackage{booktabs}",
        *([r"\usepackage{graphicx}"] if resize else []),
        r"\usepackage[margin=1.5cm" + (",landscape" if wide else "") + "]{geometry}",
        r"\begin{document}",
    ]
    return "\n".join([*preamble, body, r"\end{document}"]) + "\n"


#: Approximate Computer Modern Roman glyph widths at 10 pt (TeX font metrics, rounded), for `estimate_width_pt`.
_CM_WIDTHS = {
    **dict.fromkeys("0123456789", 5.0),
    **dict(zip("abcdefghijklmnopqrstuvwxyz", (5.0, 5.56, 4.44, 5.56, 4.44, 3.06, 5.0, 5.56, 2.78, 3.06, 5.28, 2.78,
                                              8.33, 5.56, 5.0, 5.56, 5.28, 3.92, 3.94, 3.89, 5.56, 5.28, 7.22, 5.28,
                                              5.28, 4.44), strict=True)),
    **dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", (7.5, 7.08, 7.22, 7.64, 6.81, 6.53, 7.85, 7.5, 3.61, 5.14, 7.78, 6.25,
                                              9.17, 7.5, 7.78, 6.81, 7.78, 7.36, 5.56, 7.22, 7.5, 7.5, 10.28, 7.5,
                                              7.5, 6.11), strict=True)),
    **dict.fromkeys(".,:;!'", 2.78),
    **dict.fromkeys("-–", 3.33),
    "−": 7.78,
    " ": 3.33,
    "(": 3.89,
    ")": 3.89,
    "/": 5.0,
    "↑": 5.0,
    "↓": 5.0,
    "±": 7.78,
    "=": 7.78,
    "+": 7.78,
    "×": 7.78,
}  # fmt: skip
_SMALL, _SCRIPT, _BOLD, _TABCOLSEP = 0.93, 0.75, 1.12, 6.0  # \small (9 pt) and \scriptsize (7 pt) of 10 pt


def _text_pt(text: str, scale: float = _SMALL, bold: bool = False) -> float:
    return sum(_CM_WIDTHS.get(ch, 5.0) for ch in text) * scale * (_BOLD if bold else 1.0)


def estimate_width_pt(board: Leaderboard) -> float:
    r"""Natural width (pt) of `render_latex`'s tabular in a 10 pt article, from glyph widths: the widest cell of
    each column plus 2 × \tabcolsep. An estimate (within a few %), for when no LaTeX compiler is at hand."""
    columns: list[list[float]] = [[_text_pt(row.label) for row in board.rows]]
    for group in board.groups:
        for column in group.columns:
            widths = [_text_pt(column.display + column.direction)]
            for row in board.rows:
                cell = row.cells.get((group.id, column.key))
                bold = cell is not None and cell.best
                value = re.sub(r"^-(?=\d)", "−", format_value(cell, column))  # a minus sign, as rendered
                widths.append(_text_pt(value, bold=bold))
                half = format_half_width(cell, column) if board.show_ci else None
                widths.append(_text_pt("±" + half, _SCRIPT) if half is not None else 0.0)
            columns.append(widths)
        if group.show_counts:
            columns.append([_text_pt("n")] + [_text_pt(format_counts(row, group.id)) for row in board.rows])
    return sum(max(widths) + 2 * _TABCOLSEP for widths in columns)


# ---------------------------------------------------------------- Markdown


def render_markdown(board: Leaderboard) -> str:
    """GitHub table: `Method | <Group> PSNR↑ | ...`; best in bold, controls in italics, ground truth last."""
    headers, align = ["Method"], [":--"]
    for group in board.groups:
        for column in group.columns:
            headers.append(f"{group.title} {column.display}{column.direction}")
            align.append("--:")
        if group.show_counts:
            headers.append(f"{group.title} n")
            align.append("--:")
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    for row in board.rows:
        label = row.label if row.group == 0 else f"*{row.label}*"
        cells = [label]
        for group in board.groups:
            for column in group.columns:
                cell = row.cells.get((group.id, column.key))
                text = format_value(cell, column, board.show_ci)
                cells.append(f"**{text}**" if cell is not None and cell.best else text)
            if group.show_counts:
                cells.append(format_counts(row, group.id))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + "\n".join(board.footnotes) + "\n"


# ---------------------------------------------------------------- CSV / JSON


def render_csv(board: Leaderboard) -> str:
    """One row per model; columns `<protocol>/<metric>` (+ `/ci_low`, `/ci_high` with CIs), `<protocol>/n_scored`,
    `<protocol>/n_expected`; values at printed precision (`inf` for infinite, empty when missing)."""
    header = ["method", "group"]
    for group in board.groups:
        for column in group.columns:
            header.append(f"{group.id}/{column.key}")
            if board.show_ci:
                header += [f"{group.id}/{column.key}/ci_low", f"{group.id}/{column.key}/ci_high"]
        header += [f"{group.id}/n_scored", f"{group.id}/n_expected"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in board.rows:
        values: list[str] = [row.label, _group_name(row)]
        for group in board.groups:
            for column in group.columns:
                cell = row.cells.get((group.id, column.key))
                values.append(_number(None if cell is None else cell.mean, column.decimals))
                if board.show_ci:
                    ci = None if cell is None else cell.ci95
                    values += [_number(ci and ci[0], column.decimals), _number(ci and ci[1], column.decimals)]
            scored, expected = row.counts.get(group.id, ("", ""))
            values += [str(scored), str(expected)]
        writer.writerow(values)
    return buffer.getvalue()


def render_json(board: Leaderboard) -> str:
    """Structured table: protocols with columns, rows with rounded values, best flags, counts; footnotes."""
    payload: dict[str, Any] = {
        "protocols": [
            {
                "id": g.id,
                "title": g.title,
                "hash": g.hash,
                "lse_variant": g.lse_variant,
                "columns": [
                    {"key": c.key, "display": c.display, "direction": c.direction, "decimals": c.decimals}
                    for c in g.columns
                ],
            }
            for g in board.groups
        ],
        "rows": [],
        "footnotes": board.footnotes,
    }
    for row in board.rows:
        values: dict[str, Any] = {}
        for group in board.groups:
            for column in group.columns:
                cell = row.cells.get((group.id, column.key))
                if cell is None:
                    continue
                values.setdefault(group.id, {})[column.key] = {
                    "value": _rounded(cell.mean, column.decimals),
                    "text": format_value(cell, column, False),
                    "ci95": None if cell.ci95 is None else [_rounded(v, column.decimals) for v in cell.ci95],
                    "best": cell.best,
                }
        payload["rows"].append(
            {
                "label": row.label,
                "group": _group_name(row),
                "counts": {
                    pid: {"n_scored": s, "n_expected": e, **row.diagnostics.get(pid, {})}
                    for pid, (s, e) in row.counts.items()
                },
                "values": values,
            }
        )
    return json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _group_name(row: Row) -> str:
    return ("model", "control", "ground-truth-video")[row.group]


def _number(value: float | None, decimals: int) -> str:
    if value is None or math.isnan(value):
        return ""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{decimals}f}"


def _rounded(value: float | None, decimals: int) -> float | str | None:
    """A JSON value: rounded, None for missing/NaN, "inf" / "-inf" for infinite (as in run folders)."""
    if value is None or math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return round(value, decimals)
