"""Issue 11, item 6 (widget side): signing out, or another customer signing in on the same
browser, starts a new conversation id; the same signed-in customer keeps theirs."""

from kefu.tokens import sign_customer_token
from widget_driver import Chat

KEY = "widget-identity-test-key"


def _page(context, host_site, widget_server, rasa_url, name, token):
    attr = f'data-customer-token="{token}"' if token else ""
    html = f"""<!doctype html><html><head><meta charset="utf-8"></head><body>
      <script src="{widget_server}/static/kefu-widget.js" data-server="{rasa_url}" {attr}></script></body></html>"""
    page = context.new_page()
    page.goto(host_site.page(name, html))
    chat = Chat(page, widget_server)
    chat.open()
    return chat


def test_sign_out_and_other_customer_start_new_conversations(context, host_site, widget_server, rasa_url):
    alice = sign_customer_token(7, "13800000007", key=KEY)
    signed_in = _page(context, host_site, widget_server, rasa_url, "alice.html", alice)
    first = signed_in.session_id()
    signed_in.page.close()
    again = _page(context, host_site, widget_server, rasa_url, "alice-again.html", sign_customer_token(7, "13800000007", key=KEY))
    assert again.session_id() == first  # same customer, refreshed token: same conversation
    again.page.close()
    signed_out = _page(context, host_site, widget_server, rasa_url, "out.html", "")
    anonymous = signed_out.session_id()
    assert anonymous != first
    signed_out.page.close()
    bob = _page(context, host_site, widget_server, rasa_url, "bob.html", sign_customer_token(8, "13800000008", key=KEY))
    assert bob.session_id() not in (first, anonymous)
