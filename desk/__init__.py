"""Agent desk web app (Starlette + Jinja2): queue, conversation view, supervisor view.

`python -m desk` serves it on 127.0.0.1:8000; `python -m desk.users create ...` adds users.
"""
