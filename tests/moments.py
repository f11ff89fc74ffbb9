"""Named moments that tests pin the product clock to (Asia/Shanghai).

The agent hours in config/desk.yml are 08:00–22:00 every day except the closed date
2027-02-06 (除夕); the tests that depend on the hour use these, never the wall clock.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

MONDAY_10_BEIJING = dt.datetime(2026, 12, 7, 10, 0, tzinfo=BEIJING)  # agents at work
MONDAY_03_BEIJING = dt.datetime(2026, 12, 7, 3, 0, tzinfo=BEIJING)  # night: outside agent hours
NEW_YEARS_EVE_10_BEIJING = dt.datetime(2027, 2, 6, 10, 0, tzinfo=BEIJING)  # a closed date at 10:00
