"""The figures' pages: /stats (charts drawn as SVG, each with its table; filters in the
URL), /stats.csv (the same rows), /stats/dhis2.json (a month's figures per facility as
DHIS2 ``dataValueSets``). Aggregates only: no patient, no name of a person."""

from __future__ import annotations

import csv
import datetime
import io
from urllib.parse import urlencode

from aiohttp import web

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Level, Role
from consult_server.errors import BadRequest
from consult_server.http.render import language_of, render
from consult_server.http.security import current_user, requires
from consult_server.local_time import today
from consult_server.stats.charts import Series, bar_chart
from consult_server.stats.figures import COLUMNS, Filters, csv_line, data_value_set
from consult_server.stats.service import STATS

routes = web.RouteTableDef()


@routes.get("/stats")
@requires(Role.SUPERVISOR, Role.ADMIN)
async def stats_page(request: web.Request) -> web.Response:
    user = current_user(request)
    stats = request.app[STATS]
    language = language_of(request)
    filters = Filters.parse(request.query, today())
    figures = await stats.figures(user, filters, language)
    labels = [r.label for r in figures.rows]
    facilities = sorted(
        (f for f in await request.app[ACCOUNTS].facilities() if f.id in figures.viewable),
        key=lambda f: f.name,
    )
    specialties = [(s.code, s.name(language)) for s in await request.app[ACCOUNTS].specialties()]
    return render(
        request,
        "stats.html",
        {
            "figures": figures,
            "filters": filters,
            "facilities": facilities,
            "specialties": specialties,
            "levels": [level.value for level in Level],
            "csv_url": "/stats.csv?" + urlencode(filters.query()),
            "dhis2_url": "/stats/dhis2.json?"
            + urlencode({"month": filters.last.strftime("%Y-%m")}),
            "chart_consults": lambda title, requested, completed: bar_chart(
                "consults",
                title,
                labels,
                [
                    Series(requested, tuple(r.requested for r in figures.rows)),
                    Series(completed, tuple(r.completed for r in figures.rows)),
                ],
            ),
            "chart_waits": lambda title, median, p90: bar_chart(
                "waits",
                title,
                labels,
                [
                    Series(
                        median, tuple(round((r.wait_median_s or 0) / 60, 1) for r in figures.rows)
                    ),
                    Series(p90, tuple(round((r.wait_p90_s or 0) / 60, 1) for r in figures.rows)),
                ],
            ),
        },
    )


@routes.get("/stats.csv")
@requires(Role.SUPERVISOR, Role.ADMIN)
async def stats_csv(request: web.Request) -> web.Response:
    stats = request.app[STATS]
    filters = Filters.parse(request.query, today())
    figures = await stats.figures(current_user(request), filters, language_of(request))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in [*figures.rows, figures.total]:
        writer.writerow(csv_line(row))
    return web.Response(
        body=out.getvalue().encode("utf-8-sig"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="consult-figures.csv"'},
    )


@routes.get("/stats/dhis2.json")
@requires(Role.SUPERVISOR, Role.ADMIN)
async def stats_dhis2(request: web.Request) -> web.Response:
    """One month, per facility: the health department's aggregate reporting."""
    stats = request.app[STATS]
    month_text = request.query.get("month", "")
    try:
        month = datetime.date.fromisoformat(month_text + "-01")
    except ValueError:
        raise BadRequest("month must be YYYY-MM", "bad_filter") from None
    filters = Filters(month, month, "facility")
    figures = await stats.figures(current_user(request), filters, language_of(request))
    codes = {str(f.id): f.code for f in await request.app[ACCOUNTS].facilities()}
    rows = {codes.get(r.key, r.key): r for r in figures.rows}
    return web.json_response(data_value_set(month, rows))
