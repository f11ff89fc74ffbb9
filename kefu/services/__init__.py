"""Service functions: each takes a SQLAlchemy Session first and never commits.

Use them inside ``kefu.db.session_scope()``, which commits or rolls back.
"""
