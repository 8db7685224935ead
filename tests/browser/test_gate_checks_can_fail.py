"""The gate's checks catch what they are meant to: each one on a small page built to fail.

Without these, a gate that silently passed everything would look the same as a good shop.
"""

import pytest

from tests.browser.helpers import (
    FocusWalker,
    focus_stop,
    foreign_text_without_lang,
    horizontal_scroll,
    lang_problems,
    run_axe,
)

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body {{ margin: 0; font-size: 18px; }} {style}</style></head>
<body><a class="skip-link" href="#main">{skip}</a>{body}</body></html>"""


def _page(browser, body, *, style="", lang="en", title="Page - Gongfang Live",
          skip="Skip to main content", width=1280, height=600):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_content(PAGE.format(lang=lang, title=title, skip=skip, body=body, style=style))
    return context, page


def test_axe_reports_a_control_without_a_name_and_says_where(browser, axe_url):
    context, page = _page(browser, '<main><h1>Form</h1><input type="text" id="nameless">'
                                   '<img src="data:," width="20" height="20"></main>')
    try:
        ids = {v["id"]: v for v in run_axe(page, axe_url)}
        assert "label" in ids and "image-alt" in ids
        assert any("#nameless" in node["target"] for node in ids["label"]["nodes"])
    finally:
        context.close()


def test_axe_reports_low_contrast_and_small_targets(browser, axe_url):
    context, page = _page(browser, '<main><h1>Hi</h1><p style="color:#bbb">faint</p>'
                                   '<p><button style="width:12px;height:12px;padding:0">'
                                   '<span class="visually-hidden">x</span></button>'
                                   '<button style="width:12px;height:12px;padding:0;'
                                   'margin-left:2px">y</button></p></main>')
    try:
        ids = {v["id"] for v in run_axe(page, axe_url)}
        assert "color-contrast" in ids
        assert "target-size" in ids  # turned on by the wcag22aa tag
    finally:
        context.close()


def test_lang_check_catches_a_chinese_page_marked_english(browser):
    context, page = _page(browser, "<main><h1>登录</h1></main>", lang="en",
                          title="登录 - 工坊直播", skip="跳到主要内容")
    try:
        assert lang_problems(page, "zh-CN") == [
            "<html lang> is 'en', expected 'zh-CN'"]
        assert len(lang_problems(page, "en")) == 2  # brand and skip link are Chinese
    finally:
        context.close()


def test_chinese_text_not_marked_zh_on_an_english_page_is_caught(browser):
    body = ('<main><h1>Income of 王秀英</h1><p lang="zh-CN">刘玉兰</p>'
            '<p lang="zh-CN">Maker: <b>吴海燕</b></p><p lang="en">陈静</p>'
            '<select><option lang="zh-CN">盘扣</option><option>布艺</option></select>'
            '<p>Plain English only</p><script>const name = "小杨";</script></main>')
    context, page = _page(browser, body)
    try:
        assert foreign_text_without_lang(page, "en") == ["Income of 王秀英", "陈静", "布艺"]
        assert foreign_text_without_lang(page, "zh-CN") == []  # checked on English pages
    finally:
        context.close()


def test_sideways_scroll_is_caught_at_320px(browser):
    context, page = _page(browser, '<main><div style="width:400px">wide</div></main>',
                          width=320)
    try:
        message = horizontal_scroll(page)
        assert message and "400px wide in a 320px window" in message
    finally:
        context.close()
    context, page = _page(browser, "<main><p>narrow enough</p></main>", width=320)
    try:
        assert horizontal_scroll(page) is None
    finally:
        context.close()


def test_focus_without_a_visible_indicator_is_caught(browser):
    context, page = _page(browser, '<main><a href="#x" id="plain">plain</a></main>',
                          style="#plain:focus { outline: none; }")
    try:
        page.keyboard.press("Tab")  # skip link (default outline)
        assert focus_stop(page).problems == []
        page.keyboard.press("Tab")
        stop = focus_stop(page)
        assert stop.id == "plain"
        assert stop.problems == ["no visible focus indicator (no outline, no box-shadow)"]
    finally:
        context.close()


def test_a_focus_ring_that_does_not_stand_out_is_caught(browser):
    """A pale yellow ring on white is 1.6:1; on the brand red it is clear (WCAG 1.4.11)."""
    ring = "outline: 3px solid #ffbf47; outline-offset: 2px; box-shadow: none;"
    context, page = _page(
        browser, '<main><a href="#x" id="pale">on white</a>'
                 '<p style="background:#8a1c1c"><a href="#y" id="on-red">on red</a></p></main>',
        style=f"a:focus-visible {{ {ring} }}")
    try:
        page.keyboard.press("Tab")  # skip link
        page.keyboard.press("Tab")
        stop = focus_stop(page)
        assert stop.id == "pale"
        assert stop.problems == ["focus indicator stands out only 1.6:1 from the background "
                                 "rgb(255, 255, 255) (needs 3:1)"]
        page.keyboard.press("Tab")
        assert (focus_stop(page).id, focus_stop(page).problems) == ("on-red", [])
    finally:
        context.close()


def test_focus_hidden_under_a_sticky_header_is_caught(browser):
    header = ('<header class="site-header" style="position:sticky;top:0;height:200px;'
              'background:#800;z-index:10">header</header>')
    links = "".join(f'<p style="margin:0;height:60px"><a href="#l{i}" id="l{i}">link {i}</a>'
                    f"</p>" for i in range(30))
    context, page = _page(browser, header + f"<main>{links}</main>", height=600)
    try:
        walker = FocusWalker(page)
        walker.press("Tab")
        page.locator("#l20").focus()
        # Scroll so the focused link sits 100px from the top: under the 200px header.
        page.evaluate("() => window.scrollBy(0, "
                      "document.getElementById('l20').getBoundingClientRect().top - 100)")
        with pytest.raises(AssertionError, match="hidden under the sticky header"):
            walker.current()
    finally:
        context.close()
