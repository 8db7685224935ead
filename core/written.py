"""Text typed by people, shown in the language it was written in (WCAG 3.1.2).

Product titles, workshop names, stories, sales points and people's names are typed
by makers, coordinators and shoppers, mostly in Chinese; some have an English version
beside them (`title` and `title_en`). An English page shows the English version where
there is one. Where it shows the Chinese text instead, that text carries
lang="zh-CN", so a screen reader reads it with a Chinese voice rather than spelling
out characters in an English one; English text on a Chinese page carries lang="en".

Templates use one filter, `as_written`:

    {{ product | as_written("title") }}      the English title on English pages if any
    {{ user.display_name | as_written }}     a text that exists in one language only
    <p{{ text.lang_attribute }}>{{ text.text | truncate(90) }}</p>   when the element
                                             holds nothing else (or for an <option>)

It renders `<span lang="zh-CN">...</span>` only where the text's language differs
from the page's, so Chinese pages stay as they were. Inside `_("... %(name)s",
name=...)` the span goes where the name goes; `<title>` strips it (base.html).
Python builds options with `core.forms.written_choices` and messages (flashes, errors)
with `written_message`.
"""

from __future__ import annotations

import re

from flask import Flask
from markupsafe import Markup, escape

# CJK ideographs, with the extensions and compatibility block people's names use.
CHINESE_CHARACTER = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
LATIN_LETTER = re.compile("[A-Za-z]")


def language_of(text: str | None) -> str | None:
    """The language a typed text is written in, told by its script.

    zh-CN when it has a Chinese character (a Chinese title with "LED" in it is still
    Chinese), en when it has Latin letters only, None when it has no letters at all
    (a number, a sign): such a text reads the same in either language.
    """
    if not text:
        return None
    if CHINESE_CHARACTER.search(text):
        return "zh-CN"
    if LATIN_LETTER.search(text):
        return "en"
    return None


class WrittenText(str):
    """A typed text that knows the language it is written in (None: no letters).

    It is a str, so Jinja's `~`, `join` and `_()` keep its mark where they put it;
    `.text` is the same text without it.
    """

    lang: str | None

    def __new__(cls, text: str, lang: str | None) -> WrittenText:
        written = super().__new__(cls, text)
        written.lang = lang
        return written

    def __repr__(self) -> str:
        return f"WrittenText({self.text!r}, {self.lang!r})"

    @property
    def text(self) -> str:
        """The text alone, for attributes, `<title>` or anything that is not HTML."""
        return str.__str__(self)

    @property
    def differs_from_page(self) -> bool:
        """True when the text is in another language than the page around it."""
        from core.i18n import html_lang

        return self.lang is not None and self.lang != html_lang()

    @property
    def lang_attribute(self) -> Markup:
        """` lang="zh-CN"` for an element that holds only this text, where it is needed."""
        return Markup(' lang="{}"').format(self.lang) if self.differs_from_page else Markup()

    @property
    def lang_attributes(self) -> dict[str, str]:
        """The same as a dict of attributes, for a WTForms field or option (`render_kw`)."""
        return {"lang": self.lang} if self.differs_from_page else {}

    def __html__(self) -> str:
        if self.differs_from_page:
            return Markup('<span lang="{}">{}</span>').format(self.lang, self.text)
        return escape(self.text)


def _field_value(holder, name: str):
    if isinstance(holder, dict):
        return holder.get(name)
    return getattr(holder, name, None)


def as_written(value, field: str | None = None) -> WrittenText:
    """`value` (a text), or `value.<field>` in the reader's language, with its language.

    With `field`, the English version `<field>_en` is chosen on English pages when it is
    there, else the text typed in `<field>` (the Chinese one) is shown.
    """
    from core.i18n import current_locale_name

    if field is None:
        text = "" if value is None else str(value)
    else:
        english = _field_value(value, f"{field}_en") if current_locale_name() == "en" else None
        text = english or _field_value(value, field) or ""
    return WrittenText(text, language_of(text))


def written_message(message: str, **texts) -> Markup:
    """A translated message with typed texts put in, each marked with its language.

    `message` is translated without its values, as `_("Workshop: %(name)s")`; a value
    is a WrittenText, safe HTML, a number, or a plain text (its language told by its
    script). The result is safe HTML, so it can be flashed or shown like any message.
    """
    values = {name: as_written(value) if isinstance(value, str) and not hasattr(
        value, "__html__") else value for name, value in texts.items()}
    return escape(message) % values


def init_app(app: Flask) -> None:
    """Give templates the `as_written` filter."""
    app.jinja_env.filters["as_written"] = as_written
