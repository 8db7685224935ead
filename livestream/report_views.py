"""The stream report page and its CSV download."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from core.csv_export import columns, csv_download, yuan
from core.db import get_session
from core.errors import NotAllowed
from core.written import as_written
from livestream import report
from livestream.views import _visible_session, bp


def _readable_report(slug: str):
    live = _visible_session(slug)
    session = get_session()
    if not report.may_read(session=session, live=live, user=current_user):
        raise NotAllowed(_("This report is for the stream's presenter, its workshops' "
                           "coordinators and operators."))
    return live, report.stream_report(session=session, live=live)


@bp.route("/live/<slug>/report")
@login_required
def stream_report(slug: str):
    """The stream's figures, each chart with its table."""
    live, data = _readable_report(slug)
    return render_template("livestream/report.html", live=live, report=data)


REPORT_COLUMNS = columns(
    "livestream.stream_report_csv",
    ("section", _l("Part of the report")), ("name", _l("Name")), ("items", _l("How many")),
    ("sales_yuan", _l("Sales in yuan")))


@bp.route("/live/<slug>/report.csv")
@login_required
def stream_report_csv(slug: str):
    """The same figures as a spreadsheet: one row per product and per maker."""
    live, data = _readable_report(slug)
    f = data.figures
    rows = [["stream", as_written(live, "title").text, f.items, yuan(f.sales)]]
    rows += [["product", as_written(product, "title").text if product
              else _("A product since removed"), items, yuan(sales)]
             for product, items, sales in data.by_product]
    rows += [["maker", maker.display_name if maker else "", "", yuan(amount)]
             for maker, amount in data.by_maker]
    rows += [["platform_fee", "", "", yuan(data.platform_fee)],
             ["refunded", "", "", yuan(data.refunded)],
             ["viewers_peak", "", f.peak_viewers, ""],
             ["viewers_total", "", data.total_viewers, ""],
             ["questions_asked", "", data.questions_asked, ""],
             ["questions_answered", "", data.questions_answered, ""],
             ["orders_paid", "", f.orders, ""]]
    return csv_download(REPORT_COLUMNS, rows, f"stream-{live.slug}.csv")
