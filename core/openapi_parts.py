"""The OpenAPI parts of the JSON answers outside /api/v1: health and readiness, the
Stripe webhook, makers' income, the live room's state, messages and control figures.

These views shape their answers as plain dicts (income/views.py,
livestream/room_views.py, livestream/control_views.py, livestream/room_state.py), so
their schemas are written out here, field for field; tests/security/test_api_schema.py
runs schemathesis against them, so a field added there and not here fails.
"""

from __future__ import annotations

from core.openapi import declare_part, error_answer, json_answer


def _object(properties: dict, *, optional: tuple[str, ...] = ()) -> dict:
    """An object whose every property is present, except those named `optional`."""
    return {"type": "object", "properties": properties,
            "required": [name for name in properties if name not in optional]}


INTEGER = {"type": "integer"}
FEN = {"type": "integer", "description": "An amount in fen (1/100 yuan)"}
TEXT = {"type": "string"}
MAYBE_TEXT = {"type": ["string", "null"]}
MAYBE_INTEGER = {"type": ["integer", "null"]}
WHEN = {"type": "string", "description": "ISO 8601 time with its offset"}
BOOLEAN = {"type": "boolean"}


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _path_id(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "integer", "minimum": 0}}


SLUG = {"name": "slug", "in": "path", "required": True, "description": "The session's slug",
        "schema": {"type": "string", "minLength": 1}}
MONTH = {"name": "month", "in": "query", "required": False,
         "description": "YYYY-MM; this month when absent (anything else is a 400)",
         "schema": {"type": "string"}}
SIGNED_IN = {"400": error_answer("400", "The month is not YYYY-MM"),
             "401": error_answer("401"), "403": error_answer("403"),
             "404": error_answer("404", "No such maker or workshop, or not yours")}

SCHEMAS = {
    "Health": _object({"status": {"const": "ok"}}),
    "Readiness": _object({
        "status": {"enum": ["ready", "not ready"]},
        "checks": {"type": "object", "additionalProperties": _object(
            {"ok": BOOLEAN, "reason": TEXT}, optional=("reason",))}}),
    "WebhookReceived": _object({"received": {"const": True}, "outcome": TEXT}),
    "WebhookRefused": _object({"error": TEXT}),
    "MakerIncome": _object({
        "maker_id": INTEGER, "month": TEXT, "currency": TEXT, "earned": FEN,
        "earned_last_month": FEN, "available": FEN, "balance": FEN, "gross": FEN,
        "platform_fee": FEN, "studio_fee": FEN, "share": FEN, "corrections": FEN,
        "products": _array(_object({"product_id": MAYBE_INTEGER, "name": MAYBE_TEXT,
                                    "name_en": MAYBE_TEXT, "quantity": INTEGER,
                                    "amount": FEN})),
        "places": _array(_object({"channel": MAYBE_TEXT, "name": MAYBE_TEXT,
                                  "name_en": MAYBE_TEXT, "amount": FEN})),
        "on_the_way": _array(_object({"date": TEXT, "amount": FEN})),
        "payouts": _array(_object({"amount": FEN, "paid_at": WHEN, "method": TEXT})),
    }),
    "WorkshopIncome": _object({
        "workshop_id": INTEGER, "month": TEXT, "earned": FEN,
        "members": _array(_object({"maker_id": INTEGER, "name": TEXT, "earned": FEN,
                                   "balance": FEN}))}),
    "RoomState": _object({
        "last_event_id": MAYBE_TEXT,
        "state": _object({
            "status": {"enum": ["draft", "scheduled", "live", "ended", "cancelled"]},
            "pin": MAYBE_INTEGER,
            "price": {"oneOf": [{"type": "null"}, _object({
                "id": INTEGER, "product_id": INTEGER, "variant_id": INTEGER,
                "price_amount": FEN, "normal_amount": FEN, "currency": TEXT,
                "quantity_limit": INTEGER, "per_buyer_limit": INTEGER, "left": INTEGER,
                "ends_at": WHEN, "state": {"enum": ["running", "sold_out", "ended"]}})]},
            "stock": _array(_object({"variant_id": INTEGER, "product_id": INTEGER,
                                     "stock": INTEGER})),
            "ticker": _array(_object({"line_id": INTEGER, "product_id": MAYBE_INTEGER,
                                      "quantity": INTEGER, "at": WHEN})),
            "messages": _array(_object({"id": INTEGER, "author": MAYBE_TEXT, "body": TEXT,
                                        "is_question": BOOLEAN, "at": WHEN,
                                        "answer": MAYBE_TEXT, "answered": BOOLEAN})),
            "captions": _array(_object({"id": INTEGER, "text": TEXT, "at": WHEN})),
            "streams": _object({"presenter_stream_url": MAYBE_TEXT,
                                "interpreter_stream_url": MAYBE_TEXT,
                                "recording_url": MAYBE_TEXT}),
        })}),
    "MessagePosted": _object({"ok": {"const": True}, "id": INTEGER, "message": TEXT}),
    "MessageIn": {"type": "object", "required": ["body"], "properties": {
        "body": {"type": "string", "description": "The question or message"},
        "is_question": {"type": "string", "enum": ["y", ""],
                        "description": "`y` for a question to the host"}}},
    "ControlFigures": _object({
        "orders": INTEGER, "items": INTEGER, "sales_amount": FEN,
        "questions_waiting": INTEGER, "questions_asked": INTEGER, "viewers_now": INTEGER,
        "peak_viewers": INTEGER, "live_price_units": INTEGER,
        "edge": {"oneOf": [{"type": "null"}, _object(
            {"edge_up": BOOLEAN, "presenter": BOOLEAN, "interpreter": BOOLEAN})]}}),
}


def _site_part() -> dict:
    return {"paths": {
        "/healthz": {"get": {
            "summary": "The process is up (asks no dependency)", "tags": ["health"],
            "operationId": "health",
            "responses": {"200": json_answer("Up", _ref("Health"))}}},
        "/readyz": {"get": {
            "summary": "The database (and Redis, the live edge when set) answer now",
            "tags": ["health"], "operationId": "readiness",
            "responses": {"200": json_answer("Ready", _ref("Readiness")),
                          "503": json_answer("Not ready: each check says why",
                                             _ref("Readiness"))}}},
    }, "components": {"schemas": SCHEMAS}}


def _webhook_part() -> dict:
    refused = json_answer("Refused", _ref("WebhookRefused"))
    return {"paths": {"/stripe/webhook": {"post": {
        "summary": "Stripe's signed events (never a browser's)", "tags": ["payments"],
        "operationId": "stripe_webhook",
        "parameters": [{"name": "Stripe-Signature", "in": "header", "required": False,
                        "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"type": "object"}}}},
        "responses": {
            "200": json_answer("Stored once and applied", _ref("WebhookReceived")),
            "400": {**refused, "description": "Bad or missing signature"},
            "404": {**refused, "description": "Card payments are off"},
            "503": {**refused, "description": "Not applied yet; Stripe sends it again"}},
    }}}, "components": {"schemas": SCHEMAS}}


def _income_part() -> dict:
    return {"paths": {
        "/api/income/makers/{maker_id}": {"get": {
            "summary": "A maker's income dashboard in figures (the maker, their "
                       "coordinator, operators)", "tags": ["income"],
            "operationId": "maker_income",
            "parameters": [_path_id("maker_id", "The maker's account id"), MONTH],
            "responses": {"200": json_answer("Figures in fen", _ref("MakerIncome")),
                          **SIGNED_IN}}},
        "/api/income/workshops/{workshop_id}": {"get": {
            "summary": "Every member's income (the coordinator, operators)",
            "tags": ["income"], "operationId": "workshop_income",
            "parameters": [_path_id("workshop_id", "The workshop's id"), MONTH],
            "responses": {"200": json_answer("Figures in fen", _ref("WorkshopIncome")),
                          **SIGNED_IN}}},
    }, "components": {"schemas": SCHEMAS}}


def _room_part() -> dict:
    not_found = error_answer("404", "No such session, or not public yet")
    return {"paths": {
        "/live/{slug}/state.json": {"get": {
            "summary": "The live room now, for browsers that poll", "tags": ["live room"],
            "operationId": "room_state", "parameters": [SLUG],
            "responses": {"200": json_answer("The room", _ref("RoomState")),
                          "404": not_found}}},
        "/live/{slug}/messages": {"post": {
            "summary": "Post a question or message (signed-in viewers); send "
                       "`Accept: application/json` for these answers, else a page",
            "tags": ["live room"], "operationId": "room_message", "parameters": [SLUG],
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": _ref("MessageIn")}}},
            "responses": {
                "200": json_answer("In the room", _ref("MessagePosted")),
                "400": error_answer("400", "Empty, too long, blocked, or the room is "
                                           "closed (`error.field` is `body`)"),
                "401": error_answer("401"), "404": not_found,
                "429": error_answer("429", "Too many messages: wait `Retry-After`")}}},
        "/live/{slug}/control/figures.json": {"get": {
            "summary": "The control room's running figures (the session's team, "
                       "operators)", "tags": ["live room"], "operationId": "control_figures",
            "parameters": [SLUG],
            "responses": {"200": json_answer("Figures", _ref("ControlFigures")),
                          "401": error_answer("401"), "403": error_answer("403"),
                          "404": not_found}}},
    }, "components": {"schemas": SCHEMAS}}


# The control room's actions: form posts from its page, answered as JSON to its script
# (which sends `Accept: application/json`), or with the page again otherwise.
CONTROL_ACTIONS = {
    "go-live": ("Start the stream", {}),
    "end": ("End the stream", {}),
    "pin": ("Show a product of the line-up now", {"product_id": TEXT}),
    "unpin": ("Show no product", {}),
    "price": ("Start a live price (replacing the running one)", {
        "variant_id": TEXT, "price": TEXT, "quantity_limit": TEXT,
        "per_buyer_limit": TEXT, "seconds": TEXT}),
    "price/{price_id}/stop": ("Stop a live price", {}),
    "messages/{message_id}/answer": ("Answer a question", {"answer": TEXT}),
    "messages/{message_id}/hide": ("Hide a message from the room", {}),
    "messages/{message_id}/mute": ("Mute a message's author in this room", {}),
    "caption": ("Add a caption line", {"text": TEXT}),
    "blocked-words": ("Block a word in the shop's rooms", {"word": TEXT}),
    "blocked-words/{word_id}/remove": ("Unblock a word", {}),
    "streams": ("Set the interpreter's stream and the recording address", {
        "interpreter_stream_url": TEXT, "recording_url": TEXT}),
    "stream-keys/{role}/renew": ("A new stream key for a role's push to the edge", {}),
}
SCHEMAS["ControlDone"] = _object({"ok": {"const": True}, "message": TEXT})


def _control_part() -> dict:
    paths = {}
    for action, (summary, fields) in CONTROL_ACTIONS.items():
        parameters = [SLUG] + [
            {"name": name, "in": "path", "required": True, "schema": (
                {"type": "string", "minLength": 1} if name == "role" else
                {"type": "integer", "minimum": 0})}
            for name in ("price_id", "message_id", "word_id", "role")
            if "{" + name + "}" in action]
        operation = {
            "summary": f"{summary} (the stream's team, operators)", "tags": ["control room"],
            "operationId": "control_" + action.replace("/", "_").replace("-", "_")
            .replace("{", "").replace("}", ""),
            "parameters": parameters,
            "responses": {
                "200": json_answer("Done", _ref("ControlDone")),
                "400": error_answer("400", "The form's own checks, or a rule of the room "
                                           "(`error.field`, `error.fields`)"),
                "401": error_answer("401"), "403": error_answer("403"),
                "404": error_answer("404", "No such session, price, message or word"),
                "409": error_answer("409")}}
        if fields:
            operation["requestBody"] = {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "properties": fields}}}}
        paths[f"/live/{{slug}}/control/{action}"] = {"post": operation}
    return {"paths": paths, "components": {"schemas": SCHEMAS}}


declare_part("control room", _control_part)
declare_part("site", _site_part)
declare_part("webhook", _webhook_part)
declare_part("income", _income_part)
declare_part("room", _room_part)
