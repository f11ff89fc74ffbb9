"""Screenshots of desk pages as a signed-in user, in headless Chromium (Playwright).

    python scripts/desk_screenshots.py --url http://127.0.0.1:8000 --user wanglei \
        /desk/analytics/?period=30d=docs/images/analytics.png /desk/care/surveys=docs/images/surveys.png

Each argument is PATH=FILE (split at the last "="). The password is read from var/demo-accounts.txt (written by
`./kefu.sh run` for the demo users; never printed) unless --password is given. Waits for
the network to settle (the analytics page draws its ECharts after load) before each shot.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kefu import settings  # noqa: E402


def demo_password(username: str) -> str:
    for line in (settings.var_dir() / "demo-accounts.txt").read_text("utf-8").splitlines():
        fields = line.split("\t")
        if fields[0] == username:
            return fields[1]
    raise SystemExit(f"{username} is not in var/demo-accounts.txt")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shots", nargs="+", metavar="PATH=FILE")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="wanglei", help="a desk user (demo supervisor: wanglei)")
    parser.add_argument("--password")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--full-page", action="store_true")
    args = parser.parse_args()
    password = args.password or demo_password(args.user)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": args.width, "height": 1000}, locale="zh-CN")
        page.goto(f"{args.url}/desk/login")
        page.fill("input[name=username]", args.user)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/desk/login" not in url, timeout=30_000)
        for shot in args.shots:
            path, _, file = shot.rpartition("=")
            page.goto(f"{args.url}{path}", timeout=120_000)
            page.wait_for_load_state("networkidle", timeout=120_000)
            page.wait_for_timeout(1500)  # chart animations
            Path(file).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=file, full_page=args.full_page)
            print(f"{path} -> {file} ({page.title()})")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
