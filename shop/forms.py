"""Checkout and order forms, with messages that say what to do (the GOV.UK pattern)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from accounts.forms import email_format, mobile_format
from core.forms import Form, written_choices
from core.money import Money, MoneyError
from shop.models import STATUS_LABELS, DeliveryMethod, OfflineMethod, ProviderName
from shop.pickup import pickup_choices


def _required(message):
    return DataRequired(message)


class ContactForm(Form):
    name = StringField(_l("Your name"), validators=[
        _required(_l("Enter your name")),
        Length(max=60, message=_l("Name must be 60 characters or fewer"))])
    email = EmailField(_l("Email address"), validators=[
        _required(_l("Enter your email address")),
        Length(max=320, message=_l("Email address must be 320 characters or fewer")),
        email_format])
    phone = StringField(_l("Mobile number"), validators=[Optional(), mobile_format])


class DeliveryMethodForm(Form):
    method = RadioField(_l("How do you want to get your order?"), choices=[
        SelectChoice(DeliveryMethod.DELIVERY.value, STATUS_LABELS[DeliveryMethod.DELIVERY]),
        SelectChoice(DeliveryMethod.PICKUP.value, STATUS_LABELS[DeliveryMethod.PICKUP]),
    ], validators=[_required(_l("Choose delivery or pick-up"))])


class AddressForm(Form):
    province = StringField(_l("Province"), validators=[
        _required(_l("Enter the province")), Length(max=30, message=_l(
            "Province must be 30 characters or fewer"))])
    city = StringField(_l("City"), validators=[
        _required(_l("Enter the city")), Length(max=30, message=_l(
            "City must be 30 characters or fewer"))])
    district = StringField(_l("District"), validators=[
        _required(_l("Enter the district")), Length(max=30, message=_l(
            "District must be 30 characters or fewer"))])
    street = StringField(_l("Street address"), validators=[
        _required(_l("Enter the street, building and room number")),
        Length(max=200, message=_l("Street address must be 200 characters or fewer"))])
    phone = StringField(_l("Mobile number for the courier"), validators=[
        _required(_l("Enter a mobile number for the courier")), mobile_format])


class PickupForm(Form):
    # The stalls marked as pick-up points, read when the form is made (shop/pickup.py).
    point = RadioField(_l("Where will you pick up your order?"),
                       validators=[_required(_l("Choose where to pick up your order"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.point.choices = written_choices(pickup_choices())


class PaymentMethodForm(Form):
    method = RadioField(_l("How do you want to pay?"),
                        validators=[_required(_l("Choose how to pay"))])

    def __init__(self, *args, providers=(ProviderName.OFFLINE,), offline_label=None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        labels = {**STATUS_LABELS, ProviderName.OFFLINE: offline_label
                  or STATUS_LABELS[ProviderName.OFFLINE]}
        self.method.choices = [SelectChoice(p.value, labels[p]) for p in providers]


class PlaceOrderForm(Form):
    # Hidden fields are never labelled: an empty label spares WTForms translating a
    # made-up one ("Idempotency Key") every time the form is built.
    idempotency_key = HiddenField("", validators=[
        DataRequired(_l("This checkout has expired. Please check your answers again.")),
        Regexp(r"^[A-Za-z0-9_-]{16,64}$",
               message=_l("This checkout has expired. Please check your answers again."))])
    total_amount = HiddenField("")


def money_amount(form, field):
    """A positive amount like 12.50."""
    try:
        field.money = Money.parse(field.data or "")
    except MoneyError as exc:
        raise ValidationError(_l("Enter an amount like 12.50")) from exc
    if field.money.amount <= 0:
        raise ValidationError(_l("Refund amount must be more than ¥0.00"))


class ShipForm(Form):
    tracking_number = StringField(_l("Tracking number"), validators=[
        _required(_l("Enter the tracking number")),
        Length(max=60, message=_l("Tracking number must be 60 characters or fewer"))])


class ConfirmForm(Form):
    """A button with nothing to fill in (mark paid, picked up, cancel)."""


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _one_line(form, field):
    if field.data and any(ord(c) < 32 for c in field.data):
        raise ValidationError(_l("Write it on one line"))


class BankTransferAccountForm(Form):
    """The shop's account for bank transfers, as buyers will copy it into their bank's app."""

    account_name = StringField(_l("Account name"), filters=[_strip], validators=[
        _required(_l("Enter the name the account is held in")),
        Length(max=100, message=_l("Account name must be 100 characters or fewer")),
        _one_line])
    bank_name = StringField(_l("Bank and branch"), filters=[_strip], validators=[
        _required(_l("Enter the bank and branch")),
        Length(max=100, message=_l("Bank and branch must be 100 characters or fewer")),
        _one_line])
    account_number = StringField(_l("Account number"), filters=[_strip], validators=[
        _required(_l("Enter the account number")),
        Regexp(r"^[0-9][0-9 ]{6,38}[0-9]$",
               message=_l("Enter the account number in digits, like 6222 0210 0104 5678 901"))])
    note = StringField(_l("Note for buyers"), filters=[_strip], validators=[
        Optional(), Length(max=300, message=_l("Note must be 300 characters or fewer")),
        _one_line])


class MarkPaidForm(Form):
    """What arrived for an offline order: its amount, how, and the bank's reference."""

    amount = StringField(_l("Amount received, in yuan"), filters=[_strip],
                         validators=[_required(_l("Enter the amount received"))])
    method = RadioField(_l("How was it paid?"), choices=[
        SelectChoice(m.value, m.label) for m in OfflineMethod],
        validators=[_required(_l("Choose how it was paid"))])
    reference = StringField(_l("Reference"), filters=[_strip], validators=[
        Optional(), Length(max=100, message=_l("Reference must be 100 characters or fewer")),
        _one_line])

    def validate_amount(self, field):
        try:
            field.fen = Money.parse(field.data or "").amount
        except MoneyError as exc:
            raise ValidationError(_l("Enter an amount like 12.50")) from exc

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # A transfer or a wallet payment has a number the bank or app gave it; cash does
        # not. (Optional() ends the reference's own checks when it is empty.)
        if not self.reference.data and self.method.data in (OfflineMethod.BANK_TRANSFER.value,
                                                            OfflineMethod.WALLET.value):
            self.reference.errors = [*self.reference.errors,
                                     _l("Enter the reference of the transfer or payment")]
            self._errors = None  # Form.errors is cached; let it see this one
            return False
        return valid
