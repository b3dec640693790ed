"""Schedules page: tenant admins set when retiers, scoring and training run by themselves.

Analysts see the schedules read-only with admins (they explain why tiers moved
overnight); like the rule history, reading asks for ``VIEW_ALL_CUSTOMERS``.
Changing a schedule asks for the permission that starting its work now needs
(``policy.can_manage_schedule``).
"""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length

from tierwise.errors import ConflictError, ValidationError
from tierwise.jobs import schedules
from tierwise.jobs.schedules import ACTION_LABELS, Action, Schedule
from tierwise.platform.db import db
from tierwise.platform.policy import Permission, can_manage_schedule
from tierwise.platform.tenant import tenant_timezone
from tierwise.platform.web.access import requires, signed_in
from tierwise.platform.web.forms import EmptyForm, show_validation_error

bp = Blueprint("schedules", __name__, url_prefix="/schedules")
READ_SCHEDULES = Permission.VIEW_ALL_CUSTOMERS

OUTCOME_LABELS = {"started": _l("Run started"), "skipped": _l("Skipped: already running"), "failed": _l("Failed")}
CRON_HELP = _l("Minute, hour, day of month, month, day of week. 0 3 * * * is 03:00 every day; "
               "30 2 * * 1 is 02:30 every Monday; 0 */6 * * * is every six hours.")


class ScheduleChangeForm(FlaskForm):
    cron = StringField(_l("When (cron expression)"), validators=[DataRequired(), Length(max=120)],
                       description=CRON_HELP)
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)])
    enabled = BooleanField(_l("Enabled"), default=True)


class ScheduleForm(ScheduleChangeForm):
    action = SelectField(_l("Work"), choices=[])


class SwitchForm(FlaskForm):
    enabled = HiddenField(validators=[AnyOf(["on", "off"])])


@bp.context_processor
def _labels() -> dict:
    return {"action_label": lambda code: ACTION_LABELS.get(code, code),
            "outcome_label": lambda code: OUTCOME_LABELS.get(code, code)}


def _manageable_actions() -> list[Action]:
    return [action for action in Action if can_manage_schedule(current_user, action.value)]


def _schedule_to_manage(schedule_id: uuid.UUID) -> Schedule:
    """Load (another tenant's id is a 404), then authorise."""
    schedule = schedules.get_schedule(schedule_id)
    if not can_manage_schedule(current_user, schedule.action):
        abort(403)
    return schedule


@bp.route("/")
@requires(READ_SCHEDULES)
def index():
    listed = schedules.list_schedules()
    return render_template("schedules/index.html", schedules=listed, last_runs=schedules.last_runs(listed),
                           can_add=bool(_manageable_actions()), can_manage=lambda s: can_manage_schedule(
                               current_user, s.action), switch_form=SwitchForm(), delete_form=EmptyForm())


@bp.route("/new", methods=["GET", "POST"])
@signed_in
def create():
    actions = _manageable_actions()
    if not actions:
        abort(403)
    form = ScheduleForm()
    form.action.choices = [SelectChoice(action.value, ACTION_LABELS[action]) for action in actions]
    if not form.is_submitted():
        form.timezone.data = tenant_timezone()
    if form.validate_on_submit():
        try:
            schedule = schedules.create_schedule(action=form.action.data, cron=form.cron.data,
                                                 timezone=form.timezone.data, enabled=form.enabled.data,
                                                 author=current_user.email)
        except ValidationError as exc:
            show_validation_error(form, exc)
        except ConflictError as exc:
            form.cron.errors = [exc.message]
        else:
            db.session.commit()
            flash(_("Schedule saved: %(action)s at %(cron)s.", action=ACTION_LABELS[Action(schedule.action)],
                    cron=schedule.cron), "success")
            return redirect(url_for(".index"))
    return render_template("schedules/form.html", form=form, schedule=None), 400 if form.errors else 200


@bp.route("/<uuid:schedule_id>", methods=["GET", "POST"])
@signed_in
def edit(schedule_id: uuid.UUID):
    schedule = _schedule_to_manage(schedule_id)
    form = ScheduleChangeForm(obj=schedule)
    if form.validate_on_submit():
        try:
            schedules.update_schedule(schedule, cron=form.cron.data, timezone=form.timezone.data,
                                      enabled=form.enabled.data, author=current_user.email)
        except ValidationError as exc:
            db.session.rollback()
            show_validation_error(form, exc)
        except ConflictError as exc:
            db.session.rollback()
            form.cron.errors = [exc.message]
        else:
            db.session.commit()
            flash(_("Schedule saved: %(action)s at %(cron)s.", action=ACTION_LABELS[Action(schedule.action)],
                    cron=schedule.cron), "success")
            return redirect(url_for(".index"))
    return render_template("schedules/form.html", form=form, schedule=schedule), 400 if form.errors else 200


@bp.route("/<uuid:schedule_id>/switch", methods=["POST"])
@signed_in
def switch(schedule_id: uuid.UUID):
    schedule = _schedule_to_manage(schedule_id)
    form = SwitchForm()
    if not form.validate_on_submit():
        abort(400)
    schedules.update_schedule(schedule, enabled=form.enabled.data == "on", author=current_user.email)
    db.session.commit()
    flash(_("Schedule switched on.") if schedule.enabled else _("Schedule switched off: it will not run."), "success")
    return redirect(url_for(".index"))


@bp.route("/<uuid:schedule_id>/delete", methods=["POST"])
@signed_in
def delete(schedule_id: uuid.UUID):
    schedule = _schedule_to_manage(schedule_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    schedules.delete_schedule(schedule)
    db.session.commit()
    flash(_("Schedule deleted. The runs it started are kept."), "success")
    return redirect(url_for(".index"))
