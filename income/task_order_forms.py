"""Forms for task orders: an organisation's request, a decline's reason, pieces made."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from accounts.forms import email_format
from core.forms import Form
from core.money import Money, MoneyError
from income.task_orders import TaskOrderError, check_request, today_local

PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")


def _whole_number(text: str | None) -> int | None:
    text = (text or "").strip().replace(",", "")
    return int(text) if text.isdecimal() and len(text) <= 9 else None


class TaskOrderRequestForm(Form):
    organisation = StringField(_l("Name of your business or organisation"), validators=[
        DataRequired(_l("Enter the name of your business or organisation")),
        Length(max=100, message=_l("Name must be 100 characters or fewer"))])
    contact_name = StringField(_l("Contact person"), validators=[
        DataRequired(_l("Enter the name of the contact person")),
        Length(max=60, message=_l("Name must be 60 characters or fewer"))])
    email = EmailField(_l("Email address"), validators=[Length(max=320, message=_l(
        "Email address must be 320 characters or fewer")), email_format])
    phone = StringField(_l("Phone number"), validators=[Optional()])
    product = StringField(_l("What should the workshop make?"), validators=[
        DataRequired(_l("Enter what the workshop should make")),
        Length(max=100, message=_l("Description must be 100 characters or fewer"))])
    quantity = StringField(_l("How many pieces?"), validators=[
        DataRequired(_l("Enter how many pieces"))])
    deadline = StringField(_l("Deadline"), validators=[
        DataRequired(_l("Enter the deadline"))])
    price = StringField(_l("Price per piece in yuan"), validators=[
        DataRequired(_l("Enter the price per piece"))])
    message = TextAreaField(_l("Message to the workshop"), validators=[
        Optional(), Length(max=2000, message=_l("Message must be 2,000 characters or fewer"))])

    def validate_phone(self, field):
        if field.data and not PHONE.match(field.data.strip()):
            raise ValidationError(_l("Enter a phone number of digits, like 0574 8888 6666"))

    def validate_email(self, field):
        if not (field.data or "").strip() and not (self.phone.data or "").strip():
            raise ValidationError(_l("Enter a phone number or an email address"))

    def validate_quantity(self, field):
        field.number = _whole_number(field.data)
        if field.number is None:
            raise ValidationError(_l("Quantity must be a whole number of pieces, like 2000"))
        self._check(field, "quantity", quantity=field.number)

    def validate_price(self, field):
        try:
            field.fen = Money.parse(field.data).amount
        except MoneyError as exc:
            raise ValidationError(_l("Price per piece must be a number of yuan, like 0.70")
                                  ) from exc
        self._check(field, "price", price_per_piece=field.fen)

    def validate_deadline(self, field):
        try:
            field.day = date.fromisoformat((field.data or "").strip())
        except ValueError as exc:
            raise ValidationError(_l("Enter the deadline as year-month-day, like 2027-01-31")
                                  ) from exc
        self._check(field, "deadline", deadline=field.day)

    @staticmethod
    def _check(field, name, **given):
        # The service's own rules, each for its field (the others given as valid).
        values = {"quantity": 1, "price_per_piece": 1,
                  "deadline": date.fromordinal(today_local().toordinal() + 1), **given}
        try:
            check_request(**values)
        except TaskOrderError as exc:
            if exc.field == name:
                raise ValidationError(exc.message) from exc


class DeclineForm(Form):
    reason = TextAreaField(_l("Why can the workshop not take it?"), validators=[
        DataRequired(_l("Enter the reason you cannot take it")),
        Length(max=300, message=_l("Reason must be 300 characters or fewer"))])


class PiecesForm(Form):
    pieces = StringField(_l("Pieces made"), validators=[
        DataRequired(_l("Enter how many pieces were made"))])

    def validate_pieces(self, field):
        field.number = _whole_number(field.data)
        if not field.number:
            raise ValidationError(_l("Pieces must be a whole number, 1 or more"))


class ConfirmForm(Form):
    """A button with only its CSRF token: accept, mark delivered, save the split."""
