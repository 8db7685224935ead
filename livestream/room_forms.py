"""Forms of the live room and its control room. Each checks what it can on its own;
the services check what needs the database (line-up, stock, limits)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import URL, InputRequired, Length, NumberRange, Optional, ValidationError

from catalog.forms import parse_price
from core.forms import Form
from livestream.forms import web_address
from livestream.live_prices import MAX_SECONDS, MAX_UNITS, MIN_SECONDS
from livestream.room_models import (
    ANSWER_MAX_LENGTH,
    BLOCKED_WORD_MAX_LENGTH,
    CAPTION_MAX_LENGTH,
    MESSAGE_MAX_LENGTH,
)

WHOLE_NUMBER = _l("Enter a whole number")


class WholeNumberField(IntegerField):
    """A whole number whose unreadable input gets our message, not WTForms' own."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(str(WHOLE_NUMBER)) from exc


class MessageForm(Form):
    """A viewer's question or message."""

    body = TextAreaField(_l("Your question or message"), validators=[
        InputRequired(_l("Type your question or message")),
        Length(max=MESSAGE_MAX_LENGTH, message=_l("A message can be at most %(max)d characters"))])
    is_question = BooleanField(_l("This is a question for the host"), default=True)


class PinForm(Form):
    """Which product of the line-up to show now."""

    product_id = SelectField(_l("Product to show now"), validate_choice=False,
                             validators=[InputRequired(_l("Choose a product to show"))])

    def product(self) -> int | None:
        """The chosen product's id, or None when the value is not a number."""
        text = (self.product_id.data or "").strip()
        return int(text) if text.isdecimal() and len(text) < 10 else None


class LivePriceForm(Form):
    """A live price for one version of a product in the line-up."""

    variant_id = SelectField(_l("Product"), validate_choice=False,
                             validators=[InputRequired(_l("Choose a product"))])
    price = StringField(_l("Live price in yuan"), validators=[
        InputRequired(_l("Enter the live price, for example 39.00"))])
    quantity_limit = WholeNumberField(_l("How many at this price"), validators=[
        InputRequired(WHOLE_NUMBER),
        NumberRange(min=1, max=MAX_UNITS, message=_l("Enter a number from 1 to %(max)d"))])
    per_buyer_limit = WholeNumberField(_l("Most one buyer can have"), default=2, validators=[
        InputRequired(WHOLE_NUMBER),
        NumberRange(min=1, max=MAX_UNITS, message=_l("Enter a number from 1 to %(max)d"))])
    seconds = WholeNumberField(_l("Countdown in seconds"), default=300, validators=[
        InputRequired(WHOLE_NUMBER),
        NumberRange(min=MIN_SECONDS, max=MAX_SECONDS,
                    message=_l("The countdown must be from 10 seconds to 20 minutes "
                               "(10 to 1200 seconds)"))])

    def validate_price(self, field):
        amount = parse_price(field.data)
        if amount is None or amount <= 0:
            raise ValidationError(_l("Enter the live price in yuan, for example 39.00"))

    def price_fen(self) -> int:
        """The live price in fen (after validation)."""
        return parse_price(self.price.data)

    def variant(self) -> int | None:
        """The chosen version's id, or None when the value is not a number."""
        text = (self.variant_id.data or "").strip()
        return int(text) if text.isdecimal() and len(text) < 10 else None


class AnswerForm(Form):
    """The host's answer to a question (empty: just mark it answered)."""

    answer = TextAreaField(_l("Answer"), validators=[
        Optional(), Length(max=ANSWER_MAX_LENGTH,
                           message=_l("An answer can be at most %(max)d characters"))])


class CaptionForm(Form):
    """One line of live captions."""

    text = TextAreaField(_l("Caption"), validators=[
        InputRequired(_l("Type the caption")),
        Length(max=CAPTION_MAX_LENGTH, message=_l("A caption can be at most %(max)d characters"))])


class BlockedWordForm(Form):
    """A word the shop does not allow in its rooms."""

    word = StringField(_l("Word to block"), validators=[
        InputRequired(_l("Type the word to block")),
        Length(max=BLOCKED_WORD_MAX_LENGTH,
               message=_l("A blocked word can be at most %(max)d characters"))])


class StreamsForm(Form):
    """The interpreter's own stream and the recording of the stream."""

    interpreter_stream_url = URLField(_l("Interpreter's own stream address"), validators=[
        Optional(), Length(max=500), URL(message=_l("Enter a web address starting with https://")),
        web_address])
    recording_url = URLField(_l("Recording address (for the replay)"), validators=[
        Optional(), Length(max=500), URL(message=_l("Enter a web address starting with https://")),
        web_address])
