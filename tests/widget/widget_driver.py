"""Playwright helper that drives the widget like a customer would.

Playwright's CSS locators pierce the widget's open Shadow DOM.
"""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import Locator, Page, expect

TIMEOUT_MS = 10_000


class Chat:
    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base_url = base_url

    @classmethod
    def open_demo(cls, page: Page, base_url: str, *, open_panel: bool = True, customer_token: str = "") -> "Chat":
        """The demo page; with ``customer_token`` signed in as that customer (the brand site's sign-in)."""
        chat = cls(page, base_url)
        chat.goto(open_panel=open_panel, customer_token=customer_token)
        return chat

    def goto(self, *, open_panel: bool = True, customer_token: str = "") -> None:
        query = f"?customer_token={quote(customer_token)}" if customer_token else ""
        self.page.goto(f"{self.base_url}/demo{query}")
        expect(self.launcher).to_be_visible(timeout=TIMEOUT_MS)
        if open_panel:
            self.open()

    def reload(self, *, open_panel: bool = True) -> None:
        self.page.reload()
        expect(self.launcher).to_be_visible(timeout=TIMEOUT_MS)
        if open_panel:
            self.open()

    # -- parts ---------------------------------------------------------------
    @property
    def launcher(self) -> Locator:
        return self.page.locator(".kf-launcher")

    @property
    def panel(self) -> Locator:
        return self.page.locator(".kf-panel")

    @property
    def log(self) -> Locator:
        return self.page.locator(".kf-log")

    @property
    def input(self) -> Locator:
        return self.page.locator(".kf-input")

    @property
    def banner(self) -> Locator:
        return self.page.locator(".kf-banner")

    @property
    def status(self) -> Locator:
        return self.page.locator(".kf-header__status")

    def user_bubbles(self) -> Locator:
        return self.page.locator(".kf-row--user .kf-bubble")

    def bot_bubbles(self) -> Locator:
        return self.page.locator(".kf-row--bot:not(.kf-typing) .kf-bubble")

    # -- actions -------------------------------------------------------------
    def open(self) -> None:
        if self.panel.is_hidden():
            self.launcher.click()
        expect(self.panel).to_be_visible()
        self.wait_online()

    def wait_online(self) -> None:
        expect(self.status).to_have_attribute("data-state", "online", timeout=TIMEOUT_MS)

    def send(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def expect_bot(self, text: str) -> Locator:
        bubble = self.bot_bubbles().filter(has_text=text).last
        expect(bubble).to_be_visible(timeout=TIMEOUT_MS)
        return bubble

    def session_id(self) -> str:
        return self.page.evaluate("window.KefuWidget.sessionId")

    def outbox(self) -> list[dict]:
        return self.page.evaluate(
            """() => {
              const key = Object.keys(localStorage).find((k) => k.endsWith(':outbox'));
              return key ? JSON.parse(localStorage.getItem(key)) : [];
            }"""
        )
