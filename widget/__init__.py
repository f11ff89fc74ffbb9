"""Kefu's customer chat widget: JS bundle (built into widget/dist/) plus a small
Starlette sub-app (widget.app.create_app) serving the bundle, the demo page and
the history API. Mounted by the desk app at /widget."""
