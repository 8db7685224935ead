"""Form base and CSRF: every write is protected, and a form shows its own errors.

Views that handle a Flask-WTF form are marked with `@form_view`: the form checks the
CSRF token itself, so a stale token shows as an error above what the user typed
instead of a bare error page. Every other write is checked before the view runs.
"""

from __future__ import annotations

from functools import lru_cache

from babel import support
from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect, _FlaskFormCSRF
from wtforms import HiddenField, SelectChoice, SelectField, SelectMultipleField
from wtforms.csrf.core import CSRFTokenField
from wtforms.i18n import messages_path
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from core.db import SAFE_METHODS
from core.timezones import is_known_zone, zone_choices
from core.written import WrittenText, as_written

csrf = CSRFProtect()
CSRF_MESSAGE = _l("This form had expired, so nothing was saved. Check your answers and "
                  "send it again.")


def form_view(view):
    """Mark a view whose form validates the CSRF token itself."""
    view.csrf_checked_by_form = True
    return view


def csrf_exempt(view):
    """Mark a view that authenticates its writes another way (a signed webhook)."""
    view.csrf_exempt = True
    return view


@lru_cache(maxsize=8)
def _wtforms_messages(locale: str):
    # WTForms' own messages ("Not a valid choice.") in the reader's language. Flask-WTF
    # reads this catalog from disk on every request that builds a form; it never changes.
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _CachedTranslations:
    def gettext(self, string):
        return _wtforms_messages(str(get_locale())).ugettext(string)

    def ngettext(self, singular, plural, n):
        return _wtforms_messages(str(get_locale())).ungettext(singular, plural, n)


_TRANSLATIONS = _CachedTranslations()


class _TokenMadeWhenShown(CSRFTokenField):
    """The CSRF field, whose token for the page is signed when the form is shown.

    WTForms signs it as each form is built; a form that is sent, checked and answered
    with a redirect never shows it, and signing it cost a busy checkout one part in
    fifty of each order.
    """

    def process(self, *args, **kwargs):
        HiddenField.process(self, *args, **kwargs)  # CSRFTokenField's, less the signing

    @property
    def current_token(self):
        if self._token is None:
            self._token = self.csrf_impl.generate_csrf_token(self)
        return self._token

    @current_token.setter
    def current_token(self, value):
        self._token = value

    _token = None


class _FormCSRF(_FlaskFormCSRF):
    field_class = _TokenMadeWhenShown


class Form(FlaskForm):
    """Our form base: a friendly message for a stale token, errors in page order."""

    class Meta(FlaskForm.Meta):
        csrf_class = _FormCSRF

        def get_translations(self, form):
            if not has_request_context() or not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _TRANSLATIONS

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators=extra_validators)
        if "csrf_token" in self.errors and hasattr(self, "csrf_token"):
            self.csrf_token.errors = [CSRF_MESSAGE]
        return valid

    def error_list(self) -> list[tuple[str | None, str]]:
        """(field id, message) pairs for the error summary, in the order shown."""
        items = []
        for field in self:
            for message in field.errors:
                items.append((None if field.name == "csrf_token" else field.id, message))
        items.sort(key=lambda item: item[0] is not None)
        return items


def init_app(app: Flask) -> None:
    """Bind CSRF protection and check every non-form write."""
    csrf.init_app(app)

    @app.before_request
    def _check_csrf():
        if request.method in SAFE_METHODS or not app.config.get("WTF_CSRF_ENABLED", True):
            return
        view = app.view_functions.get(request.endpoint or "")
        if view is None:
            return
        if getattr(view, "csrf_checked_by_form", False) or getattr(view, "csrf_exempt", False):
            return
        csrf.protect()


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes (a fieldset) for choosing several options."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (bare tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]


class TimeZoneField(SelectField):
    """An IANA zone from a select (common ones first), checked on the server.

    Only names we offer are taken, with our own message: a tampered or stale value is
    refused rather than stored.
    """

    def __init__(self, label=None, validators=None, *, common_only=False, **kwargs):
        super().__init__(label, validators, validate_choice=False, **kwargs)
        self.common_only = common_only

    def offer(self, include: str | None = None) -> TimeZoneField:
        """Fill the choices (they need the request's language); returns the field."""
        self.choices = zone_choices(common_only=self.common_only, include=include)
        return self

    def pre_validate(self, form):
        if not self.data:
            raise ValidationError(_("Choose a time zone"))
        if not is_known_zone(self.data):
            raise ValidationError(_("“%(zone)s” is not a time zone we know. Choose one from "
                                    "the list.", zone=str(self.data)[:64]))


class TimeZoneForm(Form):
    """A visitor's choice of zone, sent by GET like the language switch: it only sets a
    cookie on this browser and writes nothing, so it needs no CSRF token (and gives an
    anonymous visitor no session)."""

    class Meta:
        csrf = False

    zone = TimeZoneField(_l("Show times in"))


def written_choices(pairs) -> list[SelectChoice]:
    """Choices whose labels people typed (names, titles), built while a page is made.

    Each option says its language where it differs from the page's (core/written.py);
    a label may be a WrittenText (chosen in the reader's language) or a plain text.
    """
    result = []
    for value, label in pairs:
        text = label if isinstance(label, WrittenText) else as_written(label)
        result.append(SelectChoice(value, text.text, render_kw=text.lang_attributes))
    return result
