"""Account forms, with messages that say what to do (the GOV.UK pattern)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from accounts.models import HostRole, Role, SignLanguage, WorkshopKind
from accounts.services import PHONE_PATTERN, normalise_phone
from core.config import SUPPORTED_LOCALES
from core.forms import Form, MultiCheckboxField, TimeZoneField, choices
from core.i18n import HTML_LANG, LANGUAGE_NAMES

MIN_PASSWORD = 10


def email_format(form, field):
    """Refuse addresses that could not receive mail."""
    if field.data:
        try:
            validate_email(field.data.strip(), check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError(
                _l("Enter an email address in the correct format, like name@example.com")
            ) from exc


def mobile_format(form, field):
    """A mainland mobile number of 11 digits starting with 1."""
    if field.data and not PHONE_PATTERN.match(normalise_phone(field.data) or ""):
        raise ValidationError(_l("Enter a mobile number of 11 digits, like 13812345678"))


class RegistrationForm(Form):
    display_name = StringField(_l("Your name"), validators=[
        DataRequired(_l("Enter your name")),
        Length(max=60, message=_l("Name must be 60 characters or fewer"))])
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter your email address")),
        Length(max=320, message=_l("Email address must be 320 characters or fewer")),
        email_format])
    phone = StringField(_l("Mobile number"), validators=[Optional(), mobile_format])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter a password")),
        Length(min=MIN_PASSWORD, max=200,
               message=_l("Password must be between 10 and 200 characters"))])
    password_again = PasswordField(_l("Password again"), validators=[
        DataRequired(_l("Enter the password again")),
        EqualTo("password", message=_l("The two passwords are not the same"))])


class LoginForm(Form):
    login = StringField(_l("Email address or mobile number"), validators=[
        DataRequired(_l("Enter your email address or mobile number")),
        Length(max=320, message=_l("Email address must be 320 characters or fewer"))])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password")), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotPasswordForm(Form):
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter your email address")),
        Length(max=320, message=_l("Email address must be 320 characters or fewer")),
        email_format])


class ResetPasswordForm(Form):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Enter a new password")),
        Length(min=MIN_PASSWORD, max=200,
               message=_l("Password must be between 10 and 200 characters"))])
    password_again = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Enter the new password again")),
        EqualTo("password", message=_l("The two passwords are not the same"))])


class AccountForm(Form):
    display_name = StringField(_l("Your name"), validators=[
        DataRequired(_l("Enter your name")),
        Length(max=60, message=_l("Name must be 60 characters or fewer"))])
    # Each language is named in itself ("中文", "English"), so each option says its own.
    locale = SelectField(_l("Language"),
                         choices=[SelectChoice(code, LANGUAGE_NAMES[code],
                                               render_kw={"lang": HTML_LANG[code]})
                                  for code in SUPPORTED_LOCALES],
                         validators=[DataRequired(_l("Choose a language"))])
    timezone = TimeZoneField(_l("Time zone"))


class MakerProfileForm(Form):
    public_name = StringField(_l("Name shown to shoppers"), validators=[
        DataRequired(_l("Enter the name shoppers see")),
        Length(max=60, message=_l("Name must be 60 characters or fewer"))])
    story = TextAreaField(_l("Your story"), validators=[
        Optional(), Length(max=4000, message=_l("Story must be 4000 characters or fewer"))])
    show_name_publicly = BooleanField(_l("Show my name on the products I make"))
    show_story_publicly = BooleanField(_l("Show my story on my maker page"))
    disability_consent = BooleanField(
        _l("I agree to record my disability category for the federation's reports"))
    disability_category = SelectField(_l("Disability category"), choices=choices([
        ("", _l("Prefer not to say")), ("hearing", _l("Hearing")), ("visual", _l("Visual")),
        ("physical", _l("Physical")), ("intellectual", _l("Intellectual")),
        ("mental", _l("Mental health")), ("speech", _l("Speech")), ("multiple", _l("Multiple"))]),
        validators=[Optional()])

    # The view sets it: with consent in force, unticking the box withdraws it.
    consent_in_force = False

    def validate_disability_consent(self, field):
        # Without consent the category is not kept: say so rather than drop it silently.
        if self.disability_category.data and not field.data and not self.consent_in_force:
            raise ValidationError(_l("Tick the box to let us record your disability category, "
                                     "or choose “Prefer not to say”"))


class HostProfileForm(Form):
    public_name = StringField(_l("Name shown to viewers"), validators=[
        DataRequired(_l("Enter the name viewers see")),
        Length(max=60, message=_l("Name must be 60 characters or fewer"))])
    bio = TextAreaField(_l("About you"), validators=[
        Optional(), Length(max=2000, message=_l("About you must be 2000 characters or fewer"))])
    is_deaf = BooleanField(_l("I am deaf and present in sign language"))


class UserRolesForm(Form):
    roles = MultiCheckboxField(_l("Roles"), choices=choices((r.value, r.label) for r in Role),
                               validators=[Optional()])
    is_active_account = BooleanField(_l("Account can sign in"))


class WorkshopForm(Form):
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter the workshop's name")),
        Length(max=100, message=_l("Name must be 100 characters or fewer"))])
    name_en = StringField(_l("Name in English"), validators=[
        Optional(), Length(max=100, message=_l("Name must be 100 characters or fewer"))])
    slug = StringField(_l("Web address name"), validators=[
        DataRequired(_l("Enter a web address name, like pankou-workshop")),
        Length(max=80, message=_l("Web address name must be 80 characters or fewer"))])
    kind = SelectField(_l("Kind"), choices=choices((k.value, k.label) for k in WorkshopKind),
                       validators=[DataRequired(_l("Choose what kind of workshop it is"))])
    district = StringField(_l("District"), validators=[
        Optional(), Length(max=40, message=_l("District must be 40 characters or fewer"))])
    story = TextAreaField(_l("Story"), validators=[
        Optional(), Length(max=4000, message=_l("Story must be 4000 characters or fewer"))])
    is_featured = BooleanField(_l("Feature on the home page"))

    def validate_slug(self, field):
        import re

        if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", field.data or ""):
            raise ValidationError(
                _l("Use lower-case letters, digits and dashes only, like pankou-workshop"))


class AddMemberForm(Form):
    login = StringField(_l("Member's email address or mobile number"), validators=[
        DataRequired(_l("Enter the member's email address or mobile number")),
        Length(max=320, message=_l("Email address must be 320 characters or fewer"))])
    is_coordinator = BooleanField(_l("Coordinator (lists goods for the workshop)"))


class HostCapabilityForm(Form):
    role = SelectField(_l("Role they can take"),
                       choices=choices((r.value, r.label) for r in HostRole),
                       validators=[DataRequired(_l("Choose the role they can take"))])
    sign_language = SelectField(
        _l("Sign language"),
        choices=choices([("", _l("Not needed for this role"))] +
                        [(s.value, s.label) for s in SignLanguage]),
        validators=[Optional()])
    level = SelectField(
        _l("Qualification level"),
        choices=choices([("0", _l("No level needed")), ("1", _l("Level 1 (basic)")),
                         ("2", _l("Level 2 (intermediate)")), ("3", _l("Level 3 (senior)"))]),
        validators=[DataRequired(_l("Choose a qualification level"))])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators=extra_validators)
        # Checked here, not in a field validator: Optional() stops a blank field's chain.
        interpreting = {HostRole.SIGN_INTERPRETER.value, HostRole.VOICE_INTERPRETER.value}
        if self.role.data in interpreting and not self.sign_language.data:
            self.sign_language.errors = [
                _l("Choose the sign language this interpreter works in")]
            return False
        return valid


class EraseMyDataForm(Form):
    confirm = BooleanField(_l("I understand: my name, contact details, addresses and profile "
                              "will be erased, and I will not be able to sign in again"),
                           validators=[DataRequired(_l("Tick the box to confirm that you want "
                                                       "your details erased"))])
    password = PasswordField(_l("Your password"), validators=[
        DataRequired(_l("Enter your password")), Length(max=200)])


class OperatorEraseForm(Form):
    confirm = BooleanField(_l("The person asked for this, and I have checked who they are"),
                           validators=[DataRequired(_l("Tick the box to confirm that the "
                                                       "person asked for erasure"))])
