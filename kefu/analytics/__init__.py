"""Service analytics for supervisors: figures from the service DB and Rasa's tracker store.

``kefu.analytics.queries.dashboard(query)`` returns every panel of the desk's
/desk/analytics page as plain data (title, columns, rows, chart hint), computed with
SQLAlchemy queries that run on SQLite and PostgreSQL. No Rasa, no web framework here.
"""

from kefu.analytics.queries import Panel, Query, dashboard, period_for, tracker_url  # noqa: F401
