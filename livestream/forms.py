"""Operator forms for planning sessions and slots. Times are typed in the shop's zone
(Asia/Shanghai by default) and stored in UTC."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
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
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional

from accounts.models import HostRole, SignLanguage
from core.forms import Form, MultiCheckboxField
from livestream.models import RepeatFrequency


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


def local_to_utc(day, clock) -> datetime:
    """A date and wall-clock time in the shop's zone, as an aware UTC datetime."""
    zone = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    return datetime.combine(day, clock, tzinfo=zone).astimezone(ZoneInfo("UTC"))


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
        Optional(), URL(message=_l("Enter a web address starting with https://")),
        Length(max=500, message=_l("Address must be 500 characters or fewer"))])
    captions_url = URLField(_l("Captions address (WebVTT)"), validators=[
        Optional(), URL(message=_l("Enter a web address starting with https://")),
        Length(max=500, message=_l("Address must be 500 characters or fewer"))])
    product_ids = MultiCheckboxField(_l("Products to present"), coerce=int,
                                     validators=[Optional()])
    repeat = SelectField(_l("Repeat"), choices=options([
        ("", _l("Does not repeat")),
        (RepeatFrequency.WEEKLY.value, RepeatFrequency.WEEKLY.label),
        (RepeatFrequency.DAILY.value, RepeatFrequency.DAILY.label)]), validators=[Optional()])
    repeat_count = IntegerField(_l("Number of sessions"), validators=[
        Optional(), NumberRange(min=1, max=52,
                                message=_l("Number of sessions must be between 1 and 52"))])
    repeat_until = FriendlyDateField(_l("Last date"), validators=[Optional()],
                                     bad_format=_l("Enter the last date, like 2027-03-01"))

    def times(self) -> tuple[datetime, datetime]:
        """Start and end in UTC (an end at or before the start is caught by the service)."""
        start = local_to_utc(self.start_date.data, self.start_time.data)
        end = local_to_utc(self.start_date.data, self.end_time.data)
        return start, end


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
