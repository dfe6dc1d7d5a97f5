"""Template tags of the Activity Log admin."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django import template
from django.contrib.admin.views.main import ChangeList
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

register = template.Library()


def _bounds(cl: ChangeList, year: str | None, month: str | None) -> tuple[datetime, datetime] | None:
    """The first and last timestamps of the whole log within the chosen year or month.

    The whole log, not the selection: with a search or a contains filter, the selection's bounds
    would cost two more scans. Two ordered LIMIT 1 queries ride the timestamp index (MIN and MAX in
    one aggregate do not, on SQLite).
    """
    field = cl.date_hierarchy
    rows = cl.root_queryset
    if year:
        start = datetime(int(year), int(month or 1), 1)
        end = start.replace(year=start.year + 1) if not month else (start + timedelta(days=32)).replace(day=1)
        rows = rows.filter(**{f"{field}__gte": timezone.make_aware(start), f"{field}__lt": timezone.make_aware(end)})
    values = rows.values_list(field, flat=True)
    first = values.order_by(field).first()
    last = values.order_by(f"-{field}").first()
    if first is None or last is None:
        return None
    return timezone.localtime(first), timezone.localtime(last)


@register.inclusion_tag("admin/date_hierarchy.html")
def activity_date_hierarchy(cl: ChangeList) -> dict:
    """Django's date hierarchy, with every period between the first and last row as a choice.

    Django's own tag asks the database for the distinct years, months or days of the selection,
    which scans every selected row (through a Python function on SQLite): seconds on a large log.
    An activity log has rows in nearly every period, so offering the log's whole range costs two
    indexed lookups and at worst offers a period where the selection is empty.
    """
    field = cl.date_hierarchy
    year_field, month_field, day_field = f"{field}__year", f"{field}__month", f"{field}__day"
    year, month, day = (cl.params.get(name) for name in (year_field, month_field, day_field))

    def link(filters: dict) -> str:
        return cl.get_query_string(filters, [f"{field}__"])

    if year and month and day:
        chosen = date(int(year), int(month), int(day))
        return {
            "show": True,
            "back": {
                "link": link({year_field: year, month_field: month}),
                "title": capfirst(formats.date_format(chosen, "YEAR_MONTH_FORMAT")),
            },
            "choices": [{"title": capfirst(formats.date_format(chosen, "MONTH_DAY_FORMAT"))}],
        }
    bounds = _bounds(cl, year, month)
    if bounds is None:
        return {"show": False}
    first, last = bounds
    if not year:
        if first.year != last.year:
            return {
                "show": True,
                "back": None,
                "choices": [{"link": link({year_field: str(y)}), "title": str(y)} for y in range(first.year, last.year + 1)],
            }
        year = str(first.year)
        if first.month == last.month:
            month = str(first.month)
    if not month:
        return {
            "show": True,
            "back": {"link": link({}), "title": _("All dates")},
            "choices": [
                {
                    "link": link({year_field: year, month_field: m}),
                    "title": capfirst(formats.date_format(date(int(year), m, 1), "YEAR_MONTH_FORMAT")),
                }
                for m in range(first.month, last.month + 1)
            ],
        }
    return {
        "show": True,
        "back": {"link": link({year_field: year}), "title": str(year)},
        "choices": [
            {
                "link": link({year_field: year, month_field: month, day_field: d}),
                "title": capfirst(formats.date_format(date(int(year), int(month), d), "MONTH_DAY_FORMAT")),
            }
            for d in range(first.day, last.day + 1)
        ],
    }
