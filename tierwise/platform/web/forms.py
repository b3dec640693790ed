"""Form schemas for the web UI: every POST is validated (and CSRF-checked) here first."""
from __future__ import annotations

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from tierwise.errors import ValidationError
from tierwise.platform.passwords import MIN_LENGTH
from tierwise.platform.web.labels import INDUSTRY_LABELS, ROLE_LABELS, SCOPE_LABELS

class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class TenantChoiceForm(FlaskForm):
    slug = StringField(_l("Organisation code"), validators=[DataRequired(), Length(max=40)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=MIN_LENGTH, max=256)])
    confirm = PasswordField(_l("Repeat new password"), validators=[DataRequired(), EqualTo("new_password")])


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=MIN_LENGTH, max=256)])


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()])
    branch_id = SelectField(_l("Branch"), choices=[])
    book_scope = SelectField(_l("Customers visible"), choices=[SelectChoice(s.value, label) for s, label in SCOPE_LABELS.items()])
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(_l("Initial password"), validators=[Optional(), Length(min=MIN_LENGTH, max=256)])


class BranchForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])


class TenantForm(FlaskForm):
    slug = StringField(_l("Slug"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    industry = SelectField(_l("Industry"), choices=[SelectChoice(i.value, label) for i, label in INDUSTRY_LABELS.items()])
    admin_email = EmailField(_l("First admin's email"), validators=[DataRequired()])
    admin_password = PasswordField(_l("First admin's password"), validators=[DataRequired(), Length(min=MIN_LENGTH, max=256)])


class EmptyForm(FlaskForm):
    """For POST buttons (logout, revoke): only the CSRF token."""


def show_validation_error(form: FlaskForm, exc: ValidationError) -> None:
    """Put a domain validation error next to its field, or at the top of the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [exc.message]
    else:
        flash(str(exc), "error")
