"""Operator forms for planning sessions and slots. Times are typed in the viewer's zone
(core.timezones: their choice, else the shop's) and stored in UTC."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from accounts.models import HostRole, SignLanguage
from core.forms import Form, MultiCheckboxField
from core.timezones import NonexistentLocalTime, local_to_utc, viewer_zone, zone_label
from livestream.models import RepeatFrequency
from livestream.rules import MAX_SESSION_HOURS

MAX_PRODUCT_PLACE = 200  # as many products as the form lists (queries.product_choices)


def web_address(form, field) -> None:
    """Only http(s) addresses: the page links to them and plays them, and WTForms' URL
    check alone lets `javascript://...` through."""
    from urllib.parse import urlsplit

    from wtforms.validators import ValidationError

    if field.data and urlsplit(field.data.strip()).scheme.lower() not in ("http", "https"):
        raise ValidationError(_("Enter a web address starting with https://"))


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the choices WTForms wants."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class FriendlyDateField(DateField):
    """A date whose unreadable input gets our own message, not WTForms' generic one."""

    def __init__(self, *args, bad_format=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.bad_format = bad_format

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(str(self.bad_format or exc)) from exc


class FriendlyTimeField(TimeField):
    """A time whose unreadable input gets our own message."""

    def __init__(self, *args, bad_format=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.bad_format = bad_format

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(str(self.bad_format or exc)) from exc


def skipped_time_message(clock: time) -> str:
    """Why a wall-clock time the clocks jump over cannot be used."""
    return _("%(time)s does not exist on that day in %(zone)s: the clocks go forward. "
             "Choose another time.", time=clock.strftime("%H:%M"), zone=zone_label())


def read_time(field, day: date, zone: ZoneInfo) -> datetime | None:
    """The field's time on `day` in `zone` as UTC, or None with a message on the field."""
    try:
        return local_to_utc(day, field.data, zone)
    except NonexistentLocalTime:
        field.errors = [*field.errors, skipped_time_message(field.data)]
        return None


def read_span(start_field, end_field, day: date, zone: ZoneInfo, *,
              longest: timedelta) -> tuple[datetime, datetime] | None:
    """Two times typed for `day` in `zone`, as UTC start and end.

    An end at or before the start passes midnight when that keeps the span within
    `longest` ("23:30 to 00:30"); otherwise it stays a mistake that the service explains
    (the end must be after the start). None when a time does not exist that day.
    """
    start = read_time(start_field, day, zone)
    end = read_time(end_field, day, zone)
    if start is None or end is None:
        return None
    if end <= start:
        next_day = read_time(end_field, day + timedelta(days=1), zone)
        if next_day is None:
            return None
        if next_day - start <= longest:
            end = next_day
    return start, end


class SessionForm(Form):
    title = StringField(_l("Title"), validators=[
        DataRequired(_l("Enter a title")),
        Length(max=120, message=_l("Title must be 120 characters or fewer"))])
    title_en = StringField(_l("English title"), validators=[
        Optional(), Length(max=120, message=_l("Title must be 120 characters or fewer"))])
    description = TextAreaField(_l("Description"), validators=[
        Optional(), Length(max=4000, message=_l("Description must be 4000 characters or fewer"))])
    presenter_id = SelectField(_l("Presenter"), coerce=str, validators=[Optional()])
    workshop_id = SelectField(_l("Workshop"), coerce=str, validators=[Optional()])
    start_date = FriendlyDateField(_l("Date"), validators=[
        InputRequired(_l("Enter the date, like 2026-12-04"))],
        bad_format=_l("Enter the date, like 2026-12-04"))
    start_time = FriendlyTimeField(_l("Start time"), validators=[
        InputRequired(_l("Enter the start time, like 19:00"))],
        bad_format=_l("Enter the start time, like 19:00"))
    end_time = FriendlyTimeField(_l("End time"), validators=[
        InputRequired(_l("Enter the end time, like 20:30"))],
        bad_format=_l("Enter the end time, like 20:30"))
    stream_url = URLField(_l("Stream address (HLS .m3u8 or a platform's room)"), validators=[
        Optional(), URL(message=_l("Enter a web address starting with https://")), web_address,
        Length(max=500, message=_l("Address must be 500 characters or fewer"))])
    captions_url = URLField(_l("Captions address (WebVTT)"), validators=[
        Optional(), URL(message=_l("Enter a web address starting with https://")), web_address,
        Length(max=500, message=_l("Address must be 500 characters or fewer"))])
    product_ids = MultiCheckboxField(_l("Products to present"), coerce=int,
                                     validators=[Optional()])

    def validate_product_ids(self, field):
        """The ticked products in the order the host presents them: by the place typed
        beside each (`place-<id>`, 1 first), then as listed for those left empty."""
        places = {}
        for product_id in field.data or ():
            raw = (request.form.get(f"place-{product_id}") or "").strip()
            if not raw:
                continue
            if not raw.isdecimal() or not 1 <= int(raw) <= MAX_PRODUCT_PLACE:
                raise ValidationError(_l(
                    "Give each product's place as a whole number from 1 to %(most)d, or leave "
                    "it empty", most=MAX_PRODUCT_PLACE))
            places[product_id] = int(raw)
        listed = list(dict.fromkeys(field.data or ()))
        field.ordered = tuple(sorted(listed, key=lambda pid: (
            places.get(pid, MAX_PRODUCT_PLACE + 1), listed.index(pid))))
    repeat = SelectField(_l("Repeat"), choices=options([
        ("", _l("Does not repeat")),
        (RepeatFrequency.WEEKLY.value, RepeatFrequency.WEEKLY.label),
        (RepeatFrequency.DAILY.value, RepeatFrequency.DAILY.label)]), validators=[Optional()])
    repeat_count = IntegerField(_l("Number of sessions"), validators=[
        Optional(), NumberRange(min=1, max=52,
                                message=_l("Number of sessions must be between 1 and 52"))])
    repeat_until = FriendlyDateField(_l("Last date"), validators=[Optional()],
                                     bad_format=_l("Enter the last date, like 2027-03-01"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators=extra_validators)
        self._times = self._read_times() if valid else None
        return valid and self._times is not None

    def _read_times(self) -> tuple[datetime, datetime] | None:
        return read_span(self.start_time, self.end_time, self.start_date.data, viewer_zone(),
                         longest=timedelta(hours=MAX_SESSION_HOURS))

    def times(self) -> tuple[datetime, datetime]:
        """Start and end in UTC, read in the viewer's zone (after `validate`)."""
        return self._times

    def repeat_until_utc(self) -> datetime | None:
        """The end of the last day of a series, in the viewer's zone, as UTC."""
        if not self.repeat_until.data:
            return None
        last = datetime.combine(self.repeat_until.data, time(23, 59, 59), tzinfo=viewer_zone())
        return last.astimezone(ZoneInfo("UTC"))


class SlotForm(Form):
    role = SelectField(_l("Role"), choices=options(
        (r.value, r.label) for r in HostRole if r != HostRole.PRESENTER),
        validators=[DataRequired(_l("Choose a role"))])
    sign_language = SelectField(_l("Sign language"), choices=options(
        [("", _l("Any"))] + [(s.value, s.label) for s in SignLanguage]), validators=[Optional()])
    min_level = IntegerField(_l("Level needed (0 to 3)"), default=0, validators=[
        InputRequired(_l("Enter the level needed, 0 to 3")),
        NumberRange(min=0, max=3, message=_l("Level must be between 0 and 3"))])
    starts_at = FriendlyTimeField(_l("From"), validators=[
        InputRequired(_l("Enter when the slot starts"))], bad_format=_l("Enter a time like 19:00"))
    ends_at = FriendlyTimeField(_l("Until"), validators=[
        InputRequired(_l("Enter when the slot ends"))], bad_format=_l("Enter a time like 20:30"))
    is_required = BooleanField(_l("The session cannot go live without this slot"))


class AssignForm(Form):
    host_id = SelectField(_l("Host"), coerce=str, validators=[DataRequired(_l("Choose a host"))])
