"""Catalog forms: a product with its versions and makers' shares, photos, review."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms import Form as PlainForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from catalog.made_to_order import MAX_LEAD_TIME_DAYS, MAX_WEEKLY_CAPACITY
from catalog.services import MAX_PRICE_FEN, MAX_STOCK, TEXT_MAX, TITLE_MAX, ProductData, VariantData
from core.forms import Form, written_choices
from core.money import Money, MoneyError
from core.written import as_written

VARIANT_ROWS = 4
MAKER_ROWS = 6


def parse_whole_number(text: str | None, *, largest: int) -> int | None:
    """A whole number from 1 to `largest` from what a person typed, or None."""
    text = (text or "").strip()
    if not text.isdecimal() or len(text) > 9 or not 1 <= int(text) <= largest:
        return None
    return int(text)


def parse_price(text: str | None) -> int | None:
    """Fen from what a person typed, or None if it is not an amount."""
    text = (text or "").strip()
    sign = -1 if text.startswith("-") else 1
    try:
        return sign * Money.parse(text.lstrip("-")).amount
    except (MoneyError, ValueError):
        return None


class VariantForm(PlainForm):
    variant_id = HiddenField()
    name = StringField(_l("Version (colour, size)"), validators=[
        Optional(), Length(max=60, message=_l("The version name must be 60 characters or "
                                              "fewer"))])
    sku = StringField(_l("SKU (stock code)"), validators=[Optional(), Length(max=64)])
    price = StringField(_l("Price in yuan"), validators=[Optional()])
    stock = IntegerField(_l("Stock"), validators=[Optional()])

    def is_blank(self) -> bool:
        return not (self.sku.data or self.price.data or self.name.data)

    def validate_price(self, field):
        if self.is_blank():
            return
        fen = parse_price(field.data)
        if fen is None:
            raise ValidationError(_l("Enter the price as a number, like 68 or 68.50"))
        if fen <= 0:
            raise ValidationError(_l("The price must be more than ¥0"))
        if fen > MAX_PRICE_FEN:
            raise ValidationError(_l("The price must be ¥1,000,000 or less"))

    def validate_stock(self, field):
        if self.is_blank():
            return
        if field.data is None or not 0 <= field.data <= MAX_STOCK:
            raise ValidationError(_l("Stock must be a whole number from 0 to 1,000,000"))

    def validate_sku(self, field):
        if not self.is_blank() and not (field.data or "").strip():
            raise ValidationError(_l("Enter a SKU for this version"))


class MakerShareForm(PlainForm):
    maker_id = SelectField(_l("Maker"), coerce=int, validate_choice=False)
    share = StringField(_l("Share in %"), validators=[Optional()])


class ProductForm(Form):
    title = StringField(_l("Name in Chinese"), validators=[
        DataRequired(_l("Enter the product's name")),
        Length(max=TITLE_MAX, message=_l("The name must be %(count)d characters or fewer",
                                         count=TITLE_MAX))])
    title_en = StringField(_l("Name in English"), validators=[
        Optional(), Length(max=TITLE_MAX, message=_l(
            "The name must be %(count)d characters or fewer", count=TITLE_MAX))])
    category_id = SelectField(_l("Category"), coerce=int, validators=[
        DataRequired(_l("Choose a category"))])
    description = TextAreaField(_l("Description in Chinese"), validators=[
        Optional(), Length(max=TEXT_MAX, message=_l(
            "This text must be %(count)d characters or fewer", count=TEXT_MAX))])
    description_en = TextAreaField(_l("Description in English"), validators=[
        Optional(), Length(max=TEXT_MAX, message=_l(
            "This text must be %(count)d characters or fewer", count=TEXT_MAX))])
    maker_story = TextAreaField(_l("The maker's story"), validators=[
        Optional(), Length(max=TEXT_MAX, message=_l(
            "This text must be %(count)d characters or fewer", count=TEXT_MAX))])
    variants = FieldList(FormField(VariantForm), min_entries=VARIANT_ROWS,
                         max_entries=VARIANT_ROWS)
    makers = FieldList(FormField(MakerShareForm), min_entries=MAKER_ROWS,
                       max_entries=MAKER_ROWS)
    made_to_order = BooleanField(_l("Made to order: when the stock runs out, the workshop "
                                    "makes more for each order"))
    lead_time_days = StringField(_l("Days to make and send it"), validators=[Optional()])
    weekly_capacity = StringField(_l("How many the workshop can make in a week"),
                                  validators=[Optional()])

    def validate_lead_time_days(self, field):
        if self.made_to_order.data and parse_whole_number(
                field.data, largest=MAX_LEAD_TIME_DAYS) is None:
            raise ValidationError(_l("Enter the days to make and send it as a whole number "
                                     "from 1 to %(max)d", max=MAX_LEAD_TIME_DAYS))

    def validate_weekly_capacity(self, field):
        if self.made_to_order.data and parse_whole_number(
                field.data, largest=MAX_WEEKLY_CAPACITY) is None:
            raise ValidationError(_l("Enter how many can be made in a week as a whole number "
                                     "from 1 to 100,000"))

    def fill_made_to_order(self, product) -> None:
        """The made-to-order fields as the product is saved now."""
        self.made_to_order.data = product.made_to_order
        self.lead_time_days.data = str(product.lead_time_days) if product.made_to_order else ""
        self.weekly_capacity.data = (str(product.weekly_capacity) if product.made_to_order
                                     else "")

    @property
    def errors(self) -> dict:
        """Every error, the rows' and those a service added after validation included."""
        return {field_id or "csrf_token": message for field_id, message in self.error_list()}

    def error_list(self) -> list[tuple[str | None, str]]:
        """Errors of the version and maker rows too, each linked to its own field."""
        items = []
        for field in self:
            if isinstance(field, FieldList):
                for message in field.errors:  # the list's own (strings), not its rows'
                    if isinstance(message, str):
                        items.append((field.id, message))
                for entry in field:
                    for sub in entry.form:
                        items.extend((sub.id, message) for message in sub.errors)
            else:
                items.extend((None if field.name == "csrf_token" else field.id, message)
                             for message in field.errors)
        items.sort(key=lambda item: item[0] is not None)
        return items

    def set_choices(self, *, categories, members) -> None:
        """Fill the category and maker lists."""
        self.category_id.choices = [SelectChoice(0, _l("Choose a category"))] + written_choices(
            (c.id, as_written(c, "name")) for c in categories)
        maker_choices = [SelectChoice(0, _l("Nobody"))] + written_choices(
            (m.id, m.display_name) for m in members)
        for entry in self.makers:
            entry.form.maker_id.choices = maker_choices

    def validate_makers(self, field):
        total, seen = 0, False
        for entry in field:
            if entry.form.maker_id.data:
                seen = True
                share = parse_price(entry.form.share.data)  # a percentage, 2 decimals
                if share is None or share <= 0:
                    raise ValidationError(str(_l("Enter each maker's share as a "
                                                 "percentage, like 50")))
                total += share
        if seen and total != 10000:
            raise ValidationError(str(_l("The makers' shares must add up to 100%")))

    def validate_variants(self, field):
        if all(entry.form.is_blank() for entry in field):
            raise ValidationError(str(_l("Add at least one version with a price")))

    def to_data(self) -> ProductData:
        """What was typed, as the service's input."""
        variants = [VariantData(
            id=int(e.form.variant_id.data) if (e.form.variant_id.data or "").isdecimal() else None,
            sku=e.form.sku.data.strip(), name=e.form.name.data or "",
            price_amount=parse_price(e.form.price.data), stock=e.form.stock.data)
            for e in self.variants if not e.form.is_blank()]
        makers = [(e.form.maker_id.data, parse_price(e.form.share.data))
                  for e in self.makers if e.form.maker_id.data]
        return ProductData(title=self.title.data, title_en=self.title_en.data,
                           category_id=self.category_id.data or None, variants=variants,
                           makers=makers, description=self.description.data or "",
                           description_en=self.description_en.data,
                           maker_story=self.maker_story.data or "",
                           made_to_order=bool(self.made_to_order.data),
                           lead_time_days=parse_whole_number(
                               self.lead_time_days.data, largest=MAX_LEAD_TIME_DAYS) or 0,
                           weekly_capacity=parse_whole_number(
                               self.weekly_capacity.data, largest=MAX_WEEKLY_CAPACITY) or 0)


class ImageForm(Form):
    photo = FileField(_l("Photo (JPG, PNG or WebP, up to 10 MB)"))
    alt = StringField(_l("Describe the photo in Chinese"), validators=[
        DataRequired(_l("Describe the photo for people who cannot see it")),
        Length(max=200, message=_l("The description must be 200 characters or fewer"))])
    alt_en = StringField(_l("Describe the photo in English"), validators=[
        Optional(), Length(max=200, message=_l(
            "The description must be 200 characters or fewer"))])

    def validate_photo(self, field):
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Select a photo"))


class AudioForm(Form):
    kind = SelectField(_l("Which file"), choices=[
        SelectChoice("sample", _l("Short sample anyone can play")),
        SelectChoice("full", _l("Full file, for buyers only"))])
    audio = FileField(_l("Audio file (MP3, M4A, OGG or WAV)"))

    def validate_audio(self, field):
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Select an audio file"))


class ReviewForm(Form):
    decision = SelectField(_l("Decision"), choices=[
        SelectChoice("publish", _l("Publish")),
        SelectChoice("send_back", _l("Send back to the maker"))])
    reason = TextAreaField(_l("Reason for sending it back"), validators=[
        Optional(), Length(max=500, message=_l("The reason must be 500 characters or fewer"))])

    def validate_reason(self, field):
        if self.decision.data == "send_back" and not (field.data or "").strip():
            raise ValidationError(_l("Enter the reason for sending it back"))


class PositionForm(Form):
    offset = IntegerField(validators=[NumberRange(min=-1, max=1)])
