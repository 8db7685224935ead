"""JSON API for live sessions and slots, validated and serialised with pydantic.

A plain blueprint under /api/v1; its part of the shop's one OpenAPI document
(/api/openapi.json, core/openapi.py) is built from the same pydantic models. Errors
are JSON `{"error": {"code", "message"}}` (core/errors.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import Blueprint, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from accounts.access import has_role
from accounts.models import HostRole, Role, SignLanguage
from core.db import get_session
from core.errors import DomainError, NotAllowed, NotFound
from core.openapi import declare_part
from livestream import queries, services, slots
from livestream.models import LiveSession, SessionStatus

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC = [SessionStatus.SCHEDULED, SessionStatus.LIVE, SessionStatus.ENDED, SessionStatus.CANCELLED]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class SlotOut(BaseModel):
    """A seat in a session's team."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    role: HostRole
    sign_language: SignLanguage | None
    min_level: int = Field(ge=0, le=3)
    starts_at: datetime
    ends_at: datetime
    is_required: bool
    team_size: int
    team_position: int
    swap_minutes: int | None
    is_open: bool
    host_name: str | None = None
    late_release: bool = False


class SessionOut(BaseModel):
    """A live session as shoppers and hosts see it (times in UTC, ISO 8601)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    title: str
    title_en: str | None
    description: str
    status: SessionStatus
    planned_start: datetime
    planned_end: datetime
    stream_url: str | None
    captions_url: str | None
    presenter_id: int | None
    url: str
    calendar_url: str
    slots: list[SlotOut] = []


class SessionList(BaseModel):
    sessions: list[SessionOut]


class SessionIn(BaseModel):
    """Plan a session (operators). Times must carry a zone offset."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=120)
    title_en: str | None = Field(default=None, max_length=120)
    description: str = Field(default="", max_length=4000)
    planned_start: AwareDatetime
    planned_end: AwareDatetime
    presenter_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    workshop_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    stream_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    captions_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    product_ids: list[int] = Field(default=[], max_length=50)
    repeat: Literal["weekly", "daily"] | None = None
    repeat_count: int | None = Field(default=None, ge=1, le=52)
    repeat_until: AwareDatetime | None = None


def _slot_out(slot, name) -> SlotOut:
    return SlotOut(id=slot.id, session_id=slot.session_id, role=slot.role,
                   sign_language=slot.sign_language, min_level=slot.min_level,
                   starts_at=slot.starts_at, ends_at=slot.ends_at,
                   is_required=slot.is_required, team_size=slot.team_size,
                   team_position=slot.team_position, swap_minutes=slot.swap_minutes,
                   is_open=slot.host_id is None, host_name=name,
                   late_release=slot.late_release_at is not None)


def _session_out(live: LiveSession, team=()) -> SessionOut:
    return SessionOut(
        id=live.id, slug=live.slug, title=live.title, title_en=live.title_en,
        description=live.description, status=live.status, planned_start=live.planned_start,
        planned_end=live.planned_end, stream_url=live.stream_url,
        captions_url=live.captions_url, presenter_id=live.presenter_id,
        url=f"/live/{live.slug}", calendar_url=f"/live/{live.slug}/calendar.ics",
        slots=[_slot_out(slot, name) for slot, name in team])


def _json(model: BaseModel, status: int = 200):
    return jsonify(model.model_dump(mode="json")), status


def _visible(session_id: int) -> LiveSession:
    live = get_session().get(LiveSession, session_id)
    if live is None or (live.status not in PUBLIC and not has_role(Role.OPERATOR)):
        raise NotFound(_l("We could not find that session."))
    return live


def _signed_in_host():
    if not current_user.is_authenticated:
        raise NotAllowed(_l("Please sign in."), code="unauthorized")
    if not has_role(Role.HOST):
        raise NotAllowed()
    return current_user


@bp.get("/sessions")
def list_sessions():
    """Sessions live now and coming up, with their slots."""
    session = get_session()
    sessions = queries.public_schedule(session=session)
    teams = queries.session_slots(session=session, live_ids=[s.id for s in sessions])
    return _json(SessionList(sessions=[_session_out(s, teams[s.id]) for s in sessions]))


@bp.get("/sessions/<int:session_id>")
def get_session_detail(session_id: int):
    """One session with its slots."""
    live = _visible(session_id)
    team = queries.session_slots(session=get_session(), live_ids=[live.id])[live.id]
    return _json(_session_out(live, team))


@bp.get("/sessions/<int:session_id>/slots")
def list_slots(session_id: int):
    """A session's slots."""
    live = _visible(session_id)
    team = queries.session_slots(session=get_session(), live_ids=[live.id])[live.id]
    return jsonify([_slot_out(slot, name).model_dump(mode="json") for slot, name in team])


@bp.get("/me/open-slots")
def my_open_slots():
    """Open slots of upcoming sessions that the signed-in host qualifies for."""
    host = _signed_in_host()
    rows = slots.qualified_open_slots(session=get_session(), host_id=host.id)
    return jsonify([_slot_out(slot, None).model_dump(mode="json") for slot, _live in rows])


@bp.post("/sessions")
def create_session():
    """Plan a session or a series (operators only)."""
    if not current_user.is_authenticated or not has_role(Role.OPERATOR):
        raise NotAllowed()
    try:
        data = SessionIn.model_validate(request.get_json(silent=True) or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise DomainError(_l("%(field)s: %(problem)s", field=where, problem=first["msg"]),
                          code="validation") from exc
    repeat = None
    if data.repeat:
        repeat = services.Repeat(frequency=services.RepeatFrequency(data.repeat),
                                 count=data.repeat_count, until=data.repeat_until)
    made = services.plan_sessions(session=get_session(), repeat=repeat, plan=services.SessionPlan(
        title=data.title, title_en=data.title_en, description=data.description,
        planned_start=data.planned_start, planned_end=data.planned_end,
        presenter_id=data.presenter_id, workshop_id=data.workshop_id,
        stream_url=data.stream_url, captions_url=data.captions_url,
        product_ids=tuple(data.product_ids)))
    teams = queries.session_slots(session=get_session(), live_ids=[s.id for s in made])
    return _json(SessionList(sessions=[_session_out(s, teams[s.id]) for s in made]), 201)


@bp.post("/slots/<int:slot_id>/claim")
def claim_slot(slot_id: int):
    """The signed-in host takes an open slot; 409 when someone was quicker."""
    host = _signed_in_host()
    slot = slots.claim_slot(session=get_session(), slot_id=slot_id, host=host)
    return _json(_slot_out(slot, host.display_name))


@bp.post("/slots/<int:slot_id>/release")
def release_slot(slot_id: int):
    """The signed-in host gives a slot back."""
    host = _signed_in_host()
    slot = slots.release_slot(session=get_session(), slot_id=slot_id, host=host)
    return _json(_slot_out(slot, None))


def openapi_document() -> dict:
    """The OpenAPI 3.1 fragment for these endpoints, from the pydantic models."""
    from pydantic.json_schema import models_json_schema

    _, schemas = models_json_schema(
        [(m, "serialization") for m in (SessionOut, SessionList, SlotOut, ErrorBody)]
        + [(SessionIn, "validation")], ref_template="#/components/schemas/{model}")

    def ref(name):
        return {"$ref": f"#/components/schemas/{name}"}

    def answer(description, schema):
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    errors = {code: answer(text, ref("ErrorBody")) for code, text in (
        ("400", "Bad input"), ("403", "Not allowed"), ("404", "Not found"),
        ("409", "Conflict: slot taken, overlapping slot, closed session"))}
    session_id = [{"name": "session_id", "in": "path", "required": True,
                   "schema": {"type": "integer"}}]
    slot_id = [{"name": "slot_id", "in": "path", "required": True,
                "schema": {"type": "integer"}}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Gongfang Live: live sessions and slots", "version": "1"},
        "paths": {
            "/api/v1/sessions": {
                "get": {"summary": "Sessions live now and coming up", "tags": ["livestream"],
                        "responses": {"200": answer("Sessions", ref("SessionList"))}},
                "post": {"summary": "Plan a session or a series (operators)",
                         "tags": ["livestream"],
                         "requestBody": {"required": True, "content": {
                             "application/json": {"schema": ref("SessionIn")}}},
                         "responses": {"201": answer("Planned", ref("SessionList")), **errors}}},
            "/api/v1/sessions/{session_id}": {"get": {
                "summary": "One session", "tags": ["livestream"], "parameters": session_id,
                "responses": {"200": answer("Session", ref("SessionOut")),
                              "404": errors["404"]}}},
            "/api/v1/sessions/{session_id}/slots": {"get": {
                "summary": "A session's slots", "tags": ["livestream"],
                "parameters": session_id,
                "responses": {"200": answer("Slots", {"type": "array",
                                                      "items": ref("SlotOut")}),
                              "404": errors["404"]}}},
            "/api/v1/me/open-slots": {"get": {
                "summary": "Open slots the signed-in host qualifies for", "tags": ["livestream"],
                "responses": {"200": answer("Slots", {"type": "array",
                                                      "items": ref("SlotOut")}),
                              "403": errors["403"]}}},
            "/api/v1/slots/{slot_id}/claim": {"post": {
                "summary": "Claim an open slot (hosts)", "tags": ["livestream"],
                "parameters": slot_id,
                "responses": {"200": answer("Claimed", ref("SlotOut")), **errors}}},
            "/api/v1/slots/{slot_id}/release": {"post": {
                "summary": "Release a slot you hold (hosts)", "tags": ["livestream"],
                "parameters": slot_id,
                "responses": {"200": answer("Released", ref("SlotOut")), **errors}}},
        },
        "components": {"schemas": schemas["$defs"]},
    }


declare_part("livestream", openapi_document)

