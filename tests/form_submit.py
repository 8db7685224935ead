"""What a browser would send for a page's form, left as the page shows it."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, action: str | None):
        super().__init__(convert_charrefs=True)
        self.action, self.inside, self.pairs = action, False, []
        self._select, self._textarea, self._options = None, None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (self.action is None or attrs.get("action") == self.action):
            self.inside = attrs.get("method", "get").lower() == "post"
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.pairs.append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button", "file"):
                self.pairs.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select:
            self._options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            chosen = [v for v, selected in self._options if selected] or [
                v for v, _s in self._options[:1]]
            self.pairs += [(self._select, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.pairs.append(tuple(self._textarea))
            self._textarea = None


def form_fields(page: str, action: str | None = None) -> list[tuple[str, str]]:
    """(name, value) pairs of the page's POST form (the one posting to `action`), in the
    order a browser sends them."""
    reader = _FormReader(action)
    reader.feed(page)
    return reader.pairs
