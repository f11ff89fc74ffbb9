def test_smoke(chat, artifacts):
    chat.send("你好")
    chat.expect_bot("暖风家电智能助手")
    chat.page.locator(".kf-chip", has_text="我要报修").click()
    chat.expect_bot("已为您登记报修")
    chat.page.locator(".kf-ticket").wait_for()
    chat.page.screenshot(path=str(artifacts / "smoke.png"))
