"""What the browser journeys and gates check, written once for every page.

- `run_axe(page)`: axe-core with our WCAG tags; serious/critical violations, printable.
- `lang_problems(page, expected)`, `foreign_text_without_lang(page, expected)`,
  `horizontal_scroll(page)`: the other page gates.
- `sign_in(page, base_url, email)`: through the real sign-in form.
- `FocusWalker`: Tab / Shift+Tab / Enter / Space with focus checked at every stop.
- `Screenshots`: numbered pictures of a journey's key steps.
"""

from __future__ import annotations

import functools
import re
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, expect

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = {"serious", "critical"}
WIDTHS = (320, 768, 1280)
LANGUAGES = {"zh_Hans_CN": "zh-CN", "en": "en"}
# What the UI chrome says in each language (the brand in the title, the skip link).
CHROME_WORDS = {
    "zh-CN": {"brand": "工坊直播", "skip": "跳到主要内容"},
    "en": {"brand": "Gongfang Live", "skip": "Skip to main content"},
}


def inject_axe(page: Page, axe_url: str) -> None:
    """Load axe-core into the page (again after every navigation).

    Evaluated over the DevTools protocol, which the page's Content-Security-Policy does
    not govern: a <script src> from the `axe_url` server would be refused (and reported).
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_text(axe_url))


@functools.cache
def _axe_text(axe_url: str) -> str:
    with urllib.request.urlopen(axe_url) as answer:  # noqa: S310 - the loopback axe server
        return answer.read().decode("utf-8")


def run_axe(page: Page, axe_url: str) -> list[dict]:
    """axe-core's violations of impact serious or critical on the page as it is now."""
    inject_axe(page, axe_url)
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                               resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html,
                                         summary: n.failureSummary}))}));
        }""",
        AXE_TAGS,
    )
    return [v for v in result if v["impact"] in FAILING_IMPACTS]


def describe_violations(violations: list[dict]) -> str:
    """One readable block per violation: rule, impact, help, then each node."""
    lines = []
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:10]:
            lines.append(f"      target: {node['target']}")
            lines.append(f"        html: {node['html'][:200]}")
            summary = " / ".join(s.strip() for s in (node["summary"] or "").splitlines()
                                 if s.strip())
            lines.append(f"        why:  {summary[:400]}")
        if len(v["nodes"]) > 10:
            lines.append(f"      ... and {len(v['nodes']) - 10} more nodes")
    return "\n".join(lines)


def lang_problems(page: Page, expected: str) -> list[str]:
    """`<html lang>` must be `expected` and the page's own words must be in that language."""
    problems = []
    actual = page.evaluate("() => document.documentElement.getAttribute('lang')")
    if actual != expected:
        problems.append(f"<html lang> is {actual!r}, expected {expected!r}")
    words = CHROME_WORDS[expected]
    title = page.title()
    if words["brand"] not in title:
        problems.append(f"title {title!r} does not name the shop as {words['brand']!r}")
    skip = page.locator(".skip-link").first.text_content() or ""
    if skip.strip() != words["skip"]:
        problems.append(f"skip link says {skip.strip()!r}, expected {words['skip']!r}")
    return problems


def foreign_text_without_lang(page: Page, expected: str) -> list[str]:
    """On English pages: Chinese texts not inside an element marked lang="zh-CN".

    WCAG 3.1.2 (language of parts): a name or title typed in Chinese and shown on an
    English page must say so, or a screen reader reads it with an English voice.
    Templates mark such text with the `as_written` filter (core/written.py).
    """
    if expected != "en":
        return []
    return page.evaluate(
        r"""() => {
            const found = [];
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
                const node = walker.currentNode;
                if (!/[\u3400-\u9fff]/.test(node.textContent)) continue;
                const owner = node.parentElement.closest('[lang]');
                if (owner && owner !== document.documentElement &&
                    owner.getAttribute('lang').startsWith('zh')) continue;
                if (node.parentElement.closest('script, style')) continue;
                found.push(node.textContent.trim().slice(0, 40));
            }
            return found;
        }"""
    )


def horizontal_scroll(page: Page) -> str | None:
    """A message when the page scrolls sideways (reflow, WCAG 1.4.10), else None."""
    widths = page.evaluate(
        "() => ({scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth})")
    if widths["scroll"] > widths["inner"]:
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                .filter(e => !e.closest('.table-scroll'))
                .slice(0, 5).map(e => e.outerHTML.slice(0, 120))""")
        return (f"scrolls sideways: content is {widths['scroll']}px wide in a "
                f"{widths['inner']}px window; too wide: {wide}")
    return None


def browser_locale(locale: str | None) -> str:
    """What the browser says it reads (Accept-Language), to match the site's language:
    Chinese unless the test reads English (the shop honours the header without a cookie)."""
    return "en-US" if locale == "en" else "zh-CN"


def main_menu(page: Page):
    """The main navigation, opened first where a phone folds it behind its Menu button."""
    # site.js is deferred: it folds the menu just before DOMContentLoaded; asked earlier,
    # the button is still hidden and the links about to be.
    page.wait_for_load_state("domcontentloaded")
    nav = page.get_by_role("navigation", name=re.compile("^(主菜单|Main)$"))
    toggle = nav.get_by_role("button", name=re.compile("^(菜单|Menu)$"))
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
    return nav


def set_language(context, base_url: str, locale: str) -> None:
    """Choose the site's language the way the language links do (the `lang` cookie)."""
    context.add_cookies([{"name": "lang", "value": locale, "url": base_url,
                          "httpOnly": True, "sameSite": "Lax"}])


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    """Sign in through the real form and wait until the shop says so."""
    page.goto(f"{base_url}/account/login")
    page.locator("#login").fill(email)
    page.locator("#password").fill(password)
    page.locator("main form[method=post] button[type=submit]").click()
    expect(page.locator("#status-region .notice-success")).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/account/login"))


# --- Focus -------------------------------------------------------------------------

FOCUS_STATE_JS = r"""() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    const header = document.querySelector('.site-header');
    const headerRect = header ? header.getBoundingClientRect() : null;
    const headerSticky = header
        ? ['sticky', 'fixed'].includes(getComputedStyle(header).position) : false;
    const cx = Math.min(Math.max(rect.left + rect.width / 2, 0), window.innerWidth - 1);
    const cy = Math.min(Math.max(rect.top + Math.min(rect.height, 8) / 2, 0),
                        window.innerHeight - 1);
    const top = document.elementFromPoint(cx, cy);
    // What the ring is drawn on: the first ancestor with a background of its own.
    let behind = 'rgb(255, 255, 255)';
    for (let node = el.parentElement; node; node = node.parentElement) {
        const colour = getComputedStyle(node).backgroundColor;
        if (colour && colour !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(colour)) {
            behind = colour;
            break;
        }
    }
    return {
        tag: el.tagName.toLowerCase(),
        text: (el.innerText || el.value || el.getAttribute('aria-label') || el.id || '')
            .trim().slice(0, 60),
        id: el.id,
        outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) || 0,
        outlineColor: style.outlineColor, boxShadow: style.boxShadow, behind: behind,
        focusVisible: el.matches(':focus-visible'),
        rect: {top: rect.top, bottom: rect.bottom, left: rect.left, right: rect.right,
               width: rect.width, height: rect.height},
        inHeader: header ? header.contains(el) : false,
        headerBottom: headerRect && headerSticky ? headerRect.bottom : 0,
        onTop: !!top && (el === top || el.contains(top)),
        viewportHeight: window.innerHeight,
    };
}"""


def _rgb(text: str) -> tuple[float, float, float] | None:
    match = re.search(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)", text or "")
    return tuple(float(part) for part in match.groups()) if match else None


def contrast(first: tuple, second: tuple) -> float:
    """WCAG contrast ratio of two sRGB colours (1 to 21)."""
    def luminance(rgb):
        channels = [c / 255 for c in rgb]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _ring_problem(state: dict) -> str | None:
    """None when the outline or the shadow stands out 3:1 from what is behind (WCAG 1.4.11)."""
    has_outline = state["outlineStyle"] != "none" and state["outlineWidth"] > 0
    has_shadow = state["boxShadow"] not in ("none", "")
    if not (has_outline or has_shadow):
        return "no visible focus indicator (no outline, no box-shadow)"
    behind = _rgb(state["behind"])
    rings = ([_rgb(state["outlineColor"])] if has_outline else []) + (
        [_rgb(state["boxShadow"])] if has_shadow else [])
    ratios = [contrast(ring, behind) for ring in rings if ring and behind]
    if ratios and max(ratios) < 3:
        return (f"focus indicator stands out only {max(ratios):.1f}:1 from the background "
                f"{state['behind']} (needs 3:1)")
    return None


@dataclass
class FocusStop:
    """Where focus is, and whether a sighted keyboard user can see it."""

    tag: str
    text: str
    id: str
    problems: list[str]


def focus_stop(page: Page) -> FocusStop | None:
    """The focused element with any problem seeing it (no ring, hidden, under the header)."""
    state = page.evaluate(FOCUS_STATE_JS)
    if state is None:
        return None
    problems = []
    if (ring := _ring_problem(state)) is not None:
        problems.append(ring)
    rect = state["rect"]
    if rect["width"] == 0 or rect["height"] == 0:
        problems.append("focused element has no size")
    elif not state["inHeader"]:
        header_bottom = state["headerBottom"]
        room = state["viewportHeight"] - header_bottom
        if rect["height"] <= room:
            # It fits below the header, so every part of it must be visible there.
            covered = rect["top"] < header_bottom - 0.5 and not state["onTop"]
        else:
            # Taller than the room below the header (a scrolling table): some of it must
            # show below the header (WCAG 2.4.11 "not entirely hidden").
            covered = rect["bottom"] <= header_bottom + 0.5
        if covered:
            problems.append(f"hidden under the sticky header (top {rect['top']:.0f}px, header "
                            f"ends at {header_bottom:.0f}px)")
        if rect["bottom"] <= 0 or rect["top"] >= state["viewportHeight"]:
            problems.append("scrolled out of view")
    return FocusStop(state["tag"], state["text"], state["id"], problems)


@dataclass
class FocusWalker:
    """Move through a page by keyboard alone; every stop is checked and remembered.

    `walker.tab_to(lambda stop: stop.text == "登录")` presses Tab until focus lands on
    the wanted element (failing after `limit` presses), asserting at each stop that focus
    is visible and not under the sticky header.
    """

    page: Page
    limit: int = 80
    stops: list[FocusStop] = field(default_factory=list)

    def _check(self, key: str) -> FocusStop | None:
        stop = focus_stop(self.page)
        if stop is not None:
            self.stops.append(stop)
            assert not stop.problems, (
                f"after {key}, focus on <{stop.tag}> {stop.text!r}: {'; '.join(stop.problems)}")
        return stop

    def press(self, key: str) -> FocusStop | None:
        """Press a key (Tab, Shift+Tab, Enter, Space, ArrowDown...) and check focus."""
        self.page.keyboard.press(key)
        return self._check(key)

    def follow(self, key: str = "Enter") -> FocusStop | None:
        """Press a key that loads a new page (a link, a submit) and check focus there."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)
        return self._check(f"{key} (new page)")

    def type(self, text: str) -> None:
        """Type into the focused field, as a person would."""
        self.page.keyboard.type(text)

    def tab_to(self, wanted, *, backwards: bool = False) -> FocusStop:
        """Tab (or Shift+Tab) until `wanted(stop)` is true."""
        key = "Shift+Tab" if backwards else "Tab"
        seen = []
        for _ in range(self.limit):
            stop = self.press(key)
            if stop is not None:
                seen.append(f"<{stop.tag}> {stop.text!r}")
                if wanted(stop):
                    return stop
        raise AssertionError(f"never reached the wanted element by {key}; stops: {seen}")

    def current(self) -> FocusStop | None:
        """Where focus is now, checked."""
        return self._check("(now)")


# --- Pictures ----------------------------------------------------------------------


class Screenshots:
    """Numbered full-page screenshots of a journey's key steps in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def take(self, page: Page, name: str, *, full_page: bool = True) -> Path:
        """Save the whole page (or what the window shows) as NN-name.png."""
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


def picture_loaded(image) -> bool:
    """Whether the browser has really shown the picture (not a broken image).

    decode() waits for a picture still on its way (a lazy one starts when it
    is scrolled to) and fails for a broken one, so the answer is not a race.
    """
    image.scroll_into_view_if_needed()
    return image.evaluate(
        "img => img.decode().then(() => img.naturalWidth > 0, () => false)")
