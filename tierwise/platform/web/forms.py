"""Form schemas for the web UI: every POST is validated (and CSRF-checked) here first."""
from __future__ import annotations

import re

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, StopValidation

from tierwise.errors import ConflictError, ValidationError
from tierwise.platform.passwords import MIN_LENGTH
from tierwise.platform.tenant import DEFAULT_TIMEZONE, validate_slug
from tierwise.platform.web.labels import INDUSTRY_LABELS, ROLE_LABELS, SCOPE_LABELS
from tierwise.tenants.fields import MAX_DESCRIPTION, MAX_LABEL, FieldGroup, FieldType

# The field registry's codes, as the Fields page shows them.
FIELD_TYPE_LABELS = {
    FieldType.NUMBER: _l("Number"), FieldType.INTEGER: _l("Whole number"), FieldType.BOOLEAN: _l("Yes / no"),
    FieldType.CATEGORY: _l("Category"), FieldType.DATE: _l("Date"), FieldType.TEXT: _l("Text"),
}
FIELD_GROUP_LABELS = {
    FieldGroup.PROFILE: _l("Profile"), FieldGroup.BEHAVIOUR: _l("Behaviour"), FieldGroup.VALUE: _l("Customer value"),
    FieldGroup.RISK: _l("Risk"), FieldGroup.COMPLIANCE: _l("Compliance"),
}
CODE_SEPARATORS = re.compile(r"[\n,，;；]")  # between category codes typed into the form


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class TenantChoiceForm(FlaskForm):
    slug = StringField(_l("Organisation code"), validators=[DataRequired(), Length(max=40)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=MIN_LENGTH, max=256)])
    confirm = PasswordField(_l("Repeat new password"), validators=[
        DataRequired(), EqualTo("new_password", _l("The two new passwords do not match."))])


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


class BranchRenameForm(FlaskForm):
    """A branch's new name, checked by ``branches.rename_branch``; the code is not on it, as it never changes."""

    name = StringField(_l("Name"))


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])


class TenantForm(FlaskForm):
    slug = StringField(_l("Slug"), validators=[DataRequired(), Length(max=40)])
    #: ``provision_tenant``'s fields by this form's names: its refusals go beside the field they are about
    ALIASES = {"email": "admin_email", "password": "admin_password"}

    def validate_slug(self, field) -> None:
        """The slug's rules checked with the rest of the form, so every error shows at once (not one per send)."""
        try:
            validate_slug(field.data or "")
        except ValidationError as exc:
            raise StopValidation(exc.message) from None
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    industry = SelectField(_l("Industry"), choices=[SelectChoice(i.value, label) for i, label in INDUSTRY_LABELS.items()])
    # The clock its files' local times are read on: set before the first import (``tenant create --timezone``)
    timezone = StringField(_l("Time zone"), default=DEFAULT_TIMEZONE, validators=[Length(max=64)])  # blank: the default
    admin_email = EmailField(_l("First admin's email"), validators=[DataRequired()])
    admin_password = PasswordField(_l("First admin's password"), validators=[DataRequired(), Length(min=MIN_LENGTH, max=256)])


class FieldForm(FlaskForm):
    """What may change about a registry field (its name and type may not)."""

    field_group = SelectField(_l("Group"),
                              choices=[SelectChoice(g.value, label) for g, label in FIELD_GROUP_LABELS.items()])
    label_zh = StringField(_l("Chinese label"), validators=[Optional(), Length(max=MAX_LABEL)])
    label_en = StringField(_l("English label"), validators=[Optional(), Length(max=MAX_LABEL)])
    description_zh = TextAreaField(_l("Chinese description"), validators=[Optional(), Length(max=MAX_DESCRIPTION)])
    description = TextAreaField(_l("English description"), validators=[Optional(), Length(max=MAX_DESCRIPTION)])
    categories = TextAreaField(_l("Categories (category fields only: one code per line or comma-separated; "
                                  "empty for any value)"), validators=[Optional()])

    def category_codes(self) -> list[str]:
        return [code.strip() for code in CODE_SEPARATORS.split(self.categories.data or "") if code.strip()]


class NewFieldForm(FieldForm):
    name = StringField(_l("Name (a-z, 0-9 and _, e.g. aum_avg_3m)"), validators=[DataRequired(), Length(max=63)])
    field_type = SelectField(_l("Type"),
                             choices=[SelectChoice(t.value, label) for t, label in FIELD_TYPE_LABELS.items()])


class EmptyForm(FlaskForm):
    """For POST buttons (logout, revoke): only the CSRF token."""


class AssignCustomerForm(FlaskForm):
    """Give one customer to an RM; the choices (active RMs, or none) are filled per request."""

    rm_user_id = SelectField(_l("Relationship manager"), choices=[])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class ReassignBookForm(FlaskForm):
    """Move an RM's customers, all or one branch's, to another RM; choices filled per request."""

    to_user_id = SelectField(_l("Move to"), choices=[], validators=[DataRequired()])
    branch_id = SelectField(_l("Customers of branch"), choices=[])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


def show_validation_error(form: FlaskForm, exc: ValidationError | ConflictError,
                          aliases: dict[str, str] | None = None) -> None:
    """Put a domain validation error next to its field, or at the top of the form.

    ``aliases``: the form's name for a domain field it calls otherwise (the operator's new-tenant form
    asks for the first admin's ``email`` as ``admin_email``).
    """
    name = (aliases or {}).get(exc.field, exc.field) if exc.field else None
    field = getattr(form, name, None) if name else None
    if field is not None:
        field.errors = list(field.errors) + [exc.message]
    else:
        flash(str(exc), "error")
