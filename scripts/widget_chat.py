"""Chat with a running Kefu through the real widget in headless Chromium; print the transcript.

    python scripts/widget_chat.py --url http://127.0.0.1:8000 --screenshot docs/images/widget_chat.png \
        你好 "我家洗衣机不脱水了" 好的 ...

Each message is typed into the widget like a customer would; the script waits until the bot
has been quiet for --quiet seconds, then prints the customer's line and every bot bubble
(buttons in brackets). Used for the hands-on check of issue 10 (a 20-turn chat mixing
requests and courtesy); the transcript is what a customer saw, not what the NLU guessed.
With --customer-token (from `./kefu.sh customer-token PHONE`) the demo page is signed in as
that customer: the widget's own greeting (from their archive) is printed first, and no
message is needed to see it.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "widget"))
from widget_driver import Chat  # noqa: E402  (the browser tests' driver: one home for selectors)


def bubbles_after(chat: Chat, seen: int, quiet: float, limit: float) -> list:
    """Bot bubbles beyond the first ``seen``, once none has arrived for ``quiet`` seconds."""
    started = last_change = time.monotonic()
    count = chat.bot_bubbles().count()
    while time.monotonic() - started < limit:
        time.sleep(0.25)
        now = chat.bot_bubbles().count()
        if now != count:
            count, last_change = now, time.monotonic()
        elif now > seen and time.monotonic() - last_change >= quiet:
            break
    return [chat.bot_bubbles().nth(i) for i in range(seen, chat.bot_bubbles().count())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("messages", nargs="*")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--quiet", type=float, default=3.0, help="seconds without a new bubble that end a turn")
    parser.add_argument("--limit", type=float, default=60.0, help="longest wait for one turn")
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--customer-token", default="", help="sign the demo page in as this customer")
    parser.add_argument("--screenshot-top", type=Path, help="also a screenshot with the chat scrolled to its first bubble")
    args = parser.parse_args()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        chat = Chat.open_demo(page, args.url, customer_token=args.customer_token)
        if args.customer_token:  # the widget's own welcome is there at once; the archive greeting follows
            page.wait_for_timeout(1000)
            bubbles_after(chat, chat.bot_bubbles().count(), args.quiet, args.limit)
        elif chat.bot_bubbles().count():
            bubbles_after(chat, 0, args.quiet, 10)
        seen = chat.bot_bubbles().count()
        for i in range(seen):
            print(f"    小暖: {chat.bot_bubbles().nth(i).inner_text().strip()}")
        for n, text in enumerate(args.messages, 1):
            chat.send(text)
            new = bubbles_after(chat, seen, args.quiet, args.limit)
            seen += len(new)
            print(f"{n:>2}. 客户: {text}")
            for bubble in new:
                print(f"    小暖: {bubble.inner_text().strip()}")
            buttons = page.locator(".kf-quick .kf-chip")
            labels = [b.inner_text().strip() for b in buttons.all() if b.is_visible()]
            if labels:
                print(f"          [{' | '.join(labels[-6:])}]")
        if args.screenshot:
            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.wait_for_timeout(1500)  # the panel's open animation has settled
            page.screenshot(path=str(args.screenshot))
        if args.screenshot_top and chat.bot_bubbles().count():
            args.screenshot_top.parent.mkdir(parents=True, exist_ok=True)
            chat.bot_bubbles().first.evaluate("e => e.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(500)
            page.screenshot(path=str(args.screenshot_top))
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
