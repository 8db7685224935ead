"""Forms for payouts, corrections, batches, platform fees and the stall till."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from core.forms import Form, MultiCheckboxField
from core.money import Money, MoneyError
from income.models import ENTRY_LABELS, PayoutMethod, StallPayment


def _fen(field, *, signed=False, message) -> int:
    text = (field.data or "").strip()
    negative = signed and text.startswith("-")
    try:
        value = Money.parse(text[1:] if negative else text).amount
    except MoneyError as exc:
        raise ValidationError(message) from exc
    return -value if negative else value


def _maker_field():
    # Choices are the shop's makers, set by the view (income.operator_views); an id
    # that is not one of them (typed, forged, another role's) is refused by the select.
    return SelectField(_l("Maker"), validate_choice=True,
                       invalid_choice_message=_l("Choose a maker from the list"),
                       validators=[DataRequired(_l("Choose the maker"))])


class PayoutForm(Form):
    maker_id = _maker_field()
    amount = StringField(_l("Amount in yuan"), validators=[DataRequired(_l("Enter the amount"))])
    method = RadioField(_l("How was it paid?"), choices=[
        SelectChoice(m.value, ENTRY_LABELS[m]) for m in PayoutMethod],
        validators=[DataRequired(_l("Choose bank transfer or mobile wallet"))])
    reference = StringField(_l("Transfer reference"), validators=[
        DataRequired(_l("Enter the transfer reference")),
        Length(max=100, message=_l("Reference must be 100 characters or fewer"))])

    def validate_amount(self, field):
        field.fen = _fen(field, message=_l("Amount must be a number of yuan, like 120.50"))
        if field.fen <= 0:
            raise ValidationError(_l("Payout must be more than ¥0.00"))


class AdjustmentForm(Form):
    maker_id = _maker_field()
    amount = StringField(_l("Amount in yuan"), description=_l(
        "Put a minus sign in front to take money away, like -20"),
        validators=[DataRequired(_l("Enter the amount"))])
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(_l("Enter the reason for the correction")),
        Length(max=300, message=_l("Reason must be 300 characters or fewer"))])

    def validate_amount(self, field):
        field.fen = _fen(field, signed=True,
                         message=_l("Amount must be a number of yuan, like 120.50 or -20"))
        if field.fen == 0:
            raise ValidationError(_l("Amount must not be ¥0.00"))


class BatchForm(Form):
    month = StringField(_l("Month"), description=_l("Year and month, like 2026-11"),
                        validators=[DataRequired(_l("Enter the month")), Regexp(
                            r"^\d{4}-(0[1-9]|1[0-2])$",
                            message=_l("Enter the month as year and month, like 2026-11"))])


class BatchPaidForm(Form):
    reference = StringField(_l("Bank batch reference"), validators=[
        DataRequired(_l("Enter the transfer reference")),
        Length(max=100, message=_l("Reference must be 100 characters or fewer"))])


def _percent_in_basis_points(text: str, refusal) -> int:
    """A percent from 0 to 100 with up to two decimals, as basis points (12.5 -> 1250);
    anything else is refused with `refusal`."""
    try:
        basis = Money.parse(text).amount  # percent with 2 decimals = basis points
    except MoneyError as exc:
        raise ValidationError(refusal) from exc
    if basis > 10000:
        raise ValidationError(refusal)
    return basis


class CommissionForm(Form):
    scope = SelectField(_l("Applies to"), choices=[])
    rate = StringField(_l("Platform fee in percent"), description=_l("0 to 100, like 5 or 2.5"),
                       validators=[DataRequired(_l("Enter the platform fee"))])

    def validate_rate(self, field):
        field.basis_points = _percent_in_basis_points(
            field.data, _l("Platform fee must be a number from 0 to 100"))


class TillForm(Form):
    key = HiddenField()
    payment = RadioField(_l("How did they pay?"), choices=[
        SelectChoice(p.value, ENTRY_LABELS[p]) for p in StallPayment],
        validators=[DataRequired(_l("Choose cash or QR code"))])


class StallMemberForm(Form):
    email = StringField(_l("Email address of the person who runs the stall"), validators=[
        DataRequired(_l("Enter the email address")),
        Length(max=320, message=_l("Email address must be 320 characters or fewer"))])


class StudioRateForm(Form):
    # Choices are the studios, set by the view; an id not among them is refused.
    studio_id = SelectField(_l("Studio"), validate_choice=True,
                            invalid_choice_message=_l("Choose a studio from the list"),
                            validators=[DataRequired(_l("Choose the studio"))])
    rate = StringField(_l("Studio commission in percent"), description=_l(
        "Of what is left after the platform fee. 0 to 100, like 10 or 12.5"),
        validators=[DataRequired(_l("Enter the studio commission"))])

    def validate_rate(self, field):
        field.basis_points = _percent_in_basis_points(
            field.data, _l("Studio commission must be a number from 0 to 100"))


class HandOverForm(Form):
    # Choices set by the view: the products the reader may hand over, and the studios.
    product_id = SelectField(_l("Product"), validate_choice=True,
                             invalid_choice_message=_l("Choose one of your workshop's products"),
                             validators=[DataRequired(_l("Choose the product"))])
    studio_id = SelectField(_l("Who sells it"), validate_choice=True,
                            invalid_choice_message=_l("Choose a studio from the list"))


WEEKDAY_LABELS = (("1", _l("Monday")), ("2", _l("Tuesday")), ("3", _l("Wednesday")),
                  ("4", _l("Thursday")), ("5", _l("Friday")), ("6", _l("Saturday")),
                  ("7", _l("Sunday")))
_CLOCK = Regexp(r"^([01]\d|2[0-3]):[0-5]\d$",
                message=_l("Enter the time as hours and minutes, like 09:30"))


class StallForm(Form):
    """A stall's details, as an operator sets them."""

    name = StringField(_l("Name of the stall"), validators=[
        DataRequired(_l("Enter the name of the stall")),
        Length(max=100, message=_l("Name must be 100 characters or fewer"))])
    name_en = StringField(_l("English name"), validators=[
        Optional(), Length(max=100, message=_l("Name must be 100 characters or fewer"))])
    place = StringField(_l("Where it is"), description=_l(
        "The station, building or street, so a shopper can find it"), validators=[
        Optional(), Length(max=200, message=_l("Place must be 200 characters or fewer"))])
    district = StringField(_l("District"), validators=[
        Optional(), Length(max=40, message=_l("District must be 40 characters or fewer"))])
    opening_days = MultiCheckboxField(
        _l("Opening days"), choices=[SelectChoice(v, label) for v, label in WEEKDAY_LABELS],
        validators=[DataRequired(_l("Choose at least one opening day"))])
    opens_at = StringField(_l("Opens at"), description=_l("Like 10:00"),
                           validators=[Optional(), _CLOCK])
    closes_at = StringField(_l("Closes at"), description=_l("Like 16:00"),
                            validators=[Optional(), _CLOCK])
    is_pickup_point = BooleanField(_l("Shoppers can pick up orders here"))
    is_active = BooleanField(_l("The stall is open (uncheck when it stops trading)"),
                             default=True)

    def validate_closes_at(self, field):
        opens, closes = (self.opens_at.data or "").strip(), (field.data or "").strip()
        if bool(opens) != bool(closes):
            raise ValidationError(_l("Enter both the opening and the closing time, or neither"))
        if opens and closes and closes <= opens:
            raise ValidationError(_l("The closing time must be after the opening time"))


class CloseDayForm(Form):
    """Closing the stall's day: the cash in the drawer, and a note."""

    cash_counted = StringField(_l("Cash counted, in yuan"), description=_l(
        "Count the notes and coins in the cash box, like 356.50"),
        validators=[DataRequired(_l("Enter the cash you counted"))])
    note = TextAreaField(_l("Note"), description=_l(
        "Why the cash is more or less than the till recorded, if it is"), validators=[
        Optional(), Length(max=300, message=_l("Note must be 300 characters or fewer"))])

    def validate_cash_counted(self, field):
        from income.stall_days import MAX_CASH_COUNTED

        text = (field.data or "").strip()
        if text.startswith("-") or (text.isdecimal() and len(text) > 8):
            raise ValidationError(_l("Cash counted must be between ¥0 and ¥100,000"))
        field.fen = _fen(field, message=_l("Cash counted must be a number of yuan, like 356.50"))
        if not 0 <= field.fen <= MAX_CASH_COUNTED:
            raise ValidationError(_l("Cash counted must be between ¥0 and ¥100,000"))
