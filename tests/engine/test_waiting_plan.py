"""The waiting list's first page does not grow with the number of order lines on SQLite."""

import pytest
from django.db import connection

from backroom.sales.selectors import lines_segments


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.parametrize(("segment", "used", "avoided"), [
    # Back-ordered lines: newest first along their own index, stopping at a page.
    (0, "line_back_ordered_id_idx", "TEMP B-TREE"),
    # The other lines: from the orders with the status, never a scan of every line.
    (1, "sales_order_status", "SCAN sales_orderline"),
])
def test_waiting_segment_plan(db, segment, used, avoided):
    if connection.vendor != "sqlite":
        pytest.skip("the plan checked here is SQLite's")
    queryset = lines_segments(statuses=["waiting"])[segment]

    plan = _plan(queryset.order_by("-id")[:51])

    assert used in plan
    assert avoided not in plan
