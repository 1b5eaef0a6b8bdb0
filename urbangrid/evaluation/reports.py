"""Excel and PDF output: ranking exports and the monthly assessment report.

PDF text is Chinese, so a CJK font is registered: WenQuanYi Micro Hei from the system when it
is installed (embedded as a subset), else reportlab's built-in CID font STSong-Light (which
every PDF viewer can render without embedding).
"""

from __future__ import annotations

import io
import os
import re
from datetime import datetime

from django.core.files.base import ContentFile
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .choices import ReportState, SubjectKind
from .indicators import REGISTRY, compute_many
from .models import Report
from .periods import Period
from .queries import overdue_cases
from .scoring import evaluate

K = SubjectKind
WQY_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
_FONT: str | None = None


def cjk_font() -> str:
    """Register (once) and return the name of a font that renders Chinese."""
    global _FONT
    if _FONT:
        return _FONT

    if os.path.exists(WQY_PATH):
        from reportlab.pdfbase.ttfonts import TTFont

        pdfmetrics.registerFont(TTFont("WenQuanYiMicroHei", WQY_PATH, subfontIndex=0))
        _FONT = "WenQuanYiMicroHei"
    else:
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        _FONT = "STSong-Light"
    return _FONT


def measure_number(code: str, m) -> float | int | None:
    """A measure's number: a rate as a fraction, a count as an integer; None when nothing was due."""
    if m is None:
        return None if REGISTRY[code].is_rate else 0
    v = m.value if hasattr(m, "value") else m
    if v is None:
        return None
    return float(v) if REGISTRY[code].is_rate else int(v)


def fmt_value(code: str, m) -> str:
    v = measure_number(code, m)
    if v is None:
        return "—"
    return f"{v * 100:.1f}%" if REGISTRY[code].is_rate else f"{v}"


def _fmt_score(x) -> str:
    return "—" if x is None else f"{x:.2f}"


def ranking_header(ev) -> list[str]:
    return (
        [
            _("Rank (of %(n)s)") % {"n": ev.ranked},
            pgettext("rank change", "Change"),
            _("Name"),
            _("Belongs to"),
        ]
        + [str(REGISTRY[c].name) for c in ev.codes]
        + [_("Indicator score"), _("Deductions/bonuses"), _("Total score"), _("Grade")]
    )


def ranking_rows(ev) -> list[list]:
    out = []
    for r in ev.rows:
        ch = r.change
        out.append(
            [
                r.rank or "—",
                "—" if ch is None else (f"+{ch}" if ch > 0 else str(ch)),
                r.subject.name,
                r.subject.parent,
            ]
            + [fmt_value(c, r.measures.get(c)) for c in ev.codes]
            + [
                _fmt_score(r.base),
                f"{r.adjustment:+.2f}" if r.adjustment else "0",
                _fmt_score(r.total),
                r.grade or "—",
            ]
        )
    return out


def ranking_values(ev) -> tuple[list[list], list[str | None]]:
    """The ranking as numbers for a spreadsheet (empty where the page shows "—"), with each
    column's Excel number format: rates are fractions shown as percentages, so they sort and sum."""
    formats = (
        ["0", "+0;-0;0", None, None]
        + ["0.0%" if REGISTRY[c].is_rate else "0" for c in ev.codes]
        + ["0.00", "+0.00;-0.00;0", "0.00", None]
    )
    rows = [
        [r.rank, r.change, r.subject.name, r.subject.parent]
        + [measure_number(c, r.measures.get(c)) for c in ev.codes]
        + [_round(r.base), _round(r.adjustment), _round(r.total), r.grade or None]
        for r in ev.rows
    ]
    return rows, formats


def _round(x):
    return None if x is None else round(float(x), 2)


def _sheet(wb, title: str, header: list[str], rows: list[list], formats: list[str | None] = ()):

    ws = wb.create_sheet(title=re.sub(r"[\[\]:*?/\\]", "·", title)[:31])
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F5F8B")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        ws.append(row)
    for col, fmt in enumerate(formats, start=1):
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                cell.number_format = fmt
    for i, col in enumerate(ws.columns, start=1):
        width = max((len(str(c.value or "")) for c in col), default=4)
        ws.column_dimensions[col[0].column_letter].width = min(
            40, max(8, width * 1.6 if i == 3 else width + 4)
        )
    ws.freeze_panes = "A2"
    return ws


def rankings_workbook(evals, title: str) -> bytes:
    """One sheet per evaluation (subject kind), plus a cover line. Returns .xlsx bytes."""

    wb = Workbook()
    cover = wb.active
    cover.title = pgettext("report", "Summary")
    cover.append([title])
    cover.append([_("Generated at"), timezone.localtime().strftime("%Y-%m-%d %H:%M")])
    for ev in evals:
        cover.append([str(K(ev.kind).label), len(ev.rows)])
        _sheet(wb, str(K(ev.kind).label), ranking_header(ev), *ranking_values(ev))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def overdue_rows(cases) -> list[list]:
    now = timezone.now()
    return [
        [
            c.number,
            c.problem_class.name if c.problem_class_id else "",
            c.assigned_unit.name if c.assigned_unit_id else "",
            c.street.name if c.street_id else "",
            timezone.localtime(c.handle_due_at).strftime("%Y-%m-%d %H:%M"),
            round((now - c.handle_due_at).total_seconds() / 86400, 1),
            c.get_state_display(),
        ]
        for c in cases
    ]


def overdue_header() -> list[str]:
    return [
        _("Case number"),
        _("Problem class"),
        _("Handling unit"),
        _("Street/town"),
        _("Handling deadline"),
        _("Days overdue"),
        _("State"),
    ]


# ---------------------------------------------------------------------- monthly report
REPORT_KINDS = {
    2: [K.STREET, K.COMMUNITY, K.UNIT, K.GRID_WORKER],
    3: [K.COMMUNITY, K.GRID, K.UNIT, K.GRID_WORKER],
}
OVERDUE_LIMIT = 300


def _bar_chart(ev, font: str, title: str):

    rows = [r for r in ev.rows if r.total is not None][:15]
    height = 40 + 16 * max(1, len(rows))
    d = Drawing(480, height)
    d.add(String(0, height - 12, title, fontName=font, fontSize=10))
    if not rows:
        d.add(String(0, height - 30, _("No scored subject"), fontName=font, fontSize=9))
        return d
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 150, 10, 300, height - 35
    rows = list(reversed(rows))
    chart.data = [[round(r.total, 2) for r in rows]]
    chart.categoryAxis.categoryNames = [r.subject.name[:14] for r in rows]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#1f5f8b")
    chart.barLabelFormat = "%.1f"
    chart.barLabels.fontSize = 6
    chart.barLabels.nudge = 10
    d.add(chart)
    return d


def _pdf(title: str, subtitle: str, evals, overdue: list[list], font: str) -> bytes:

    h1 = ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    cell = ParagraphStyle("cell", fontName=font, fontSize=6.5, leading=8)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=title,
        author="urbangrid",
    )
    story = [Paragraph(title, h1), Paragraph(subtitle, body), Spacer(1, 4 * mm)]
    style = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 6.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f5f8b")),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa7b1")),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#eef3f7")]),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
    )
    for ev in evals:
        label = str(K(ev.kind).label)
        story.append(Paragraph(_("Ranking: %(kind)s") % {"kind": label}, h2))
        story.append(_bar_chart(ev, font, _("Total score, top 15")))
        header = [Paragraph(h, cell) for h in ranking_header(ev)]
        rows = [[Paragraph(str(v), cell) for v in row] for row in ranking_rows(ev)[:60]]
        story.append(Table([header] + rows, repeatRows=1, style=style))
        if len(ev.rows) > 60:
            story.append(Paragraph(_("… %(n)s more in the Excel file.") % {"n": len(ev.rows) - 60}, body))
    story.append(PageBreak())
    story.append(Paragraph(_("Overdue unhandled cases (%(n)s)") % {"n": len(overdue)}, h2))
    if overdue:
        story.append(
            Table(
                [overdue_header()] + [[Paragraph(str(v), cell) for v in r] for r in overdue],
                repeatRows=1,
                style=style,
            )
        )
    else:
        story.append(Paragraph(_("None."), body))
    doc.build(story)
    return buf.getvalue()


def _progress(report, pct: int, message: str, **extra):

    Report.objects.filter(pk=report.pk).update(progress=pct, message=message[:200], **extra)


def build(report_id: int) -> str:
    """Compute the rankings for the report's area and month and write both files."""

    report = Report.objects.select_related("region", "version__scheme").get(pk=report_id)
    with translation.override("zh-hans"):
        try:
            _progress(report, 2, _("Computing indicators"), state=ReportState.RUNNING)
            period = Period.parse(report.period_label)
            region = report.region
            kinds = REPORT_KINDS.get(region.level, REPORT_KINDS[2])
            measures = compute_many(kinds, period)
            evals = []
            for i, kind in enumerate(kinds):
                ev = evaluate(kind, period, report.version, _measures=measures[kind]).within(region.code)
                evals.append(ev)
                _progress(
                    report,
                    10 + int(60 * (i + 1) / len(kinds)),
                    _("Ranked: %(kind)s") % {"kind": K(kind).label},
                )
            overdue = overdue_rows(
                overdue_cases(region, as_of=min(period.end_dt, timezone.now()))[:OVERDUE_LIMIT]
            )
            title = _("%(area)s assessment report, %(period)s") % {
                "area": region.name,
                "period": period.label,
            }
            subtitle = _("Scheme: %(scheme)s v%(v)s · generated %(at)s") % {
                "scheme": report.version.scheme.name,
                "v": report.version.number,
                "at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            }
            _progress(report, 75, _("Writing Excel"))
            xlsx = _report_workbook(title, evals, overdue)
            _progress(report, 85, _("Writing PDF"))
            pdf = _pdf(title, subtitle, evals, overdue, cjk_font())
            stem = f"{region.code}-{period.label}-{report.pk}"
            report.xlsx.save(f"{stem}.xlsx", ContentFile(xlsx), save=False)
            report.pdf.save(f"{stem}.pdf", ContentFile(pdf), save=False)
            Report.objects.filter(pk=report.pk).update(
                xlsx=report.xlsx.name,
                pdf=report.pdf.name,
                state=ReportState.DONE,
                progress=100,
                message=_("Ready"),
                finished_at=timezone.now(),
            )
            return report.pdf.name
        except Exception as exc:
            _progress(
                report,
                100,
                f"{_('Failed')}: {exc}"[:200],
                state=ReportState.FAILED,
                finished_at=timezone.now(),
            )
            raise


def _report_workbook(title: str, evals, overdue) -> bytes:

    data = rankings_workbook(evals, title)
    wb = load_workbook(io.BytesIO(data))
    _sheet(wb, _("Overdue cases"), overdue_header(), overdue)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_filename(prefix: str, period_label: str, at: datetime | None = None) -> str:
    return f"{prefix}-{period_label}.xlsx"
