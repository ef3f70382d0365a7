"""The OpenAPI 3.0 description of /api/v1, served at /api/v1/openapi.json.

Written by hand next to the handlers of ``bot.api``; tests/test_api.py runs schemathesis
against it, so a handler that drifts from it fails the suite.
"""

from __future__ import annotations

from typing import Any

from bot.api import ACTIONS, MAX_PER_PAGE
from bot.tickets.model import RATINGS, State

STATES = [s.value for s in State]


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_UNAUTHORIZED = {"$ref": "#/components/responses/Unauthorized"}
_NUMBER = {"name": "number", "in": "path", "required": True, "description": "ticket number, e.g. WY20250301-0001",
           "schema": {"type": "string"}}
_QUERY = [
    ("state", {"type": "string", "enum": STATES}, "ticket state"),
    ("department", {"type": "string"}, "department code (ignored for officials: their own)"),
    ("matter", {"type": "string"}, "matter id"),
    ("place", {"type": "string"}, "compound or place contains"),
    ("since", {"type": "string", "format": "date"}, "created on or after (Asia/Shanghai date)"),
    ("until", {"type": "string", "format": "date"}, "created on or before"),
    ("overdue", {"type": "boolean"}, "only tickets past their deadline"),
    ("q", {"type": "string"}, "words in the number, place, texts or matter name"),
    ("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}, "page, from 1"),
    ("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20}, "tickets per page"),
]

_SUMMARY_FIELDS: dict[str, Any] = {
    "number": {"type": "string"},
    "matter": {"type": "string"},
    "matter_name": {"type": "string"},
    "department": {"type": "string"},
    "department_name": {"type": "string"},
    "state": {"type": "string", "enum": STATES},
    "place": {"type": "string"},
    "source": {"type": "string", "enum": ["resident", "property", "official"]},
    "company": {"type": "string"},
    "created": {"type": "string", "format": "date-time"},
    "deadline": {"type": "string", "format": "date-time"},
    "overdue": {"type": "boolean"},
    "time_left": {"type": "string", "description": "剩余2天3小时 / 超期5小时 / —"},
}
_DETAIL_FIELDS: dict[str, Any] = {
    "level": {"type": "string"},
    "also": {"type": "array", "items": {"type": "string"}},
    "texts": {"type": "array", "items": {"type": "string"}},
    "photos": {"type": "array", "items": {"type": "string"}, "description": "WeChat media ids"},
    "location": {"type": "object", "nullable": True, "required": ["latitude", "longitude", "label"], "properties": {
        "latitude": {"type": "number"}, "longitude": {"type": "number"}, "label": {"type": "string"}}},
    "dispatched": {"type": "string", "format": "date-time"},
    "escalations": {"type": "array", "items": {"type": "string"}},
    "rating": {"type": "string", "nullable": True, "enum": [*RATINGS, None]},
    "reporters": {"type": "integer", "minimum": 1},
    "contact": {"type": "string", "nullable": True, "description": "the resident's phone: the handling unit only"},
    "history": {"type": "array", "items": {"type": "object", "required": ["at", "who", "action", "note"], "properties": {
        "at": {"type": "string", "format": "date-time"}, "who": {"type": "string"}, "action": {"type": "string"},
        "note": {"type": "string"}}}},
    "merged_into": {"type": "string", "description": "a duplicate: the ticket it was merged into (else empty)"},
    "actions": {"type": "array", "items": {"type": "string", "enum": list(ACTIONS)},
                "description": "what this token may do to the ticket now"},
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "wuye-bot API",
        "version": "1.0.0",
        "description": "Tickets (工单) of residential property matters, for departments' own systems. "
                       "Same scope as the web console: an official's token sees its department's tickets "
                       "only (another department's ticket answers 404). Errors are JSON {\"error\": \"...\"}.",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "paths": {
        "/tickets": {"get": {
            "operationId": "listTickets",
            "summary": "the ledger (台账), newest first",
            "parameters": [{"name": n, "in": "query", "required": False, "schema": s, "description": d} for n, s, d in _QUERY],
            "responses": {
                "200": _ok("a page of tickets", {"type": "object", "required": ["total", "page", "per_page", "pages", "tickets"],
                                                 "properties": {"total": {"type": "integer"}, "page": {"type": "integer"},
                                                                "per_page": {"type": "integer"}, "pages": {"type": "integer"},
                                                                "tickets": {"type": "array", "items": {"$ref": "#/components/schemas/TicketSummary"}}}}),
                "400": _error("a filter is not valid"),
                "401": _UNAUTHORIZED,
                "403": _error("this account sees no tickets (editors)"),
            },
        }},
        "/tickets/{number}": {"get": {
            "operationId": "getTicket",
            "summary": "one ticket with its messages and history",
            "parameters": [_NUMBER],
            "responses": {
                "200": _ok("the ticket", {"$ref": "#/components/schemas/Ticket"}),
                "401": _UNAUTHORIZED,
                "403": _error("this account sees no tickets (editors)"),
                "404": _error("no such ticket, or not this token's"),
            },
        }},
        "/tickets/{number}/actions": {"post": {
            "operationId": "actOnTicket",
            "summary": "受理 accept, 回复 reply, 办结 resolve, 退回 return; 改派 reroute and 关闭 close for administrators",
            "parameters": [_NUMBER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["action"],
                "properties": {
                    "action": {"type": "string", "enum": list(ACTIONS)},
                    "note": {"type": "string", "maxLength": 2000, "description": "reply text, result, or reason (required for reply, resolve, return)"},
                    "to": {"type": "string", "description": "reroute: the new department code"},
                },
            }}}},
            "responses": {
                "200": _ok("the ticket after the action", {"$ref": "#/components/schemas/Ticket"}),
                "400": _error("the body is not a valid action"),
                "401": _UNAUTHORIZED,
                "403": _error("this token may read but not act (staff), or the action is for administrators"),
                "404": _error("no such ticket, or not this token's"),
                "409": _error("the ticket's state does not allow the action"),
                "422": _error("a note is required, or an unknown department to reroute to"),
            },
        }},
        "/tickets/{number}/merge": {"post": {
            "operationId": "mergeTicket",
            "summary": "合并重复工单 (administrators): merge the duplicate into this ticket; the duplicate's residents "
                       "become co-reporters, its texts and photos are appended, it is closed pointing here",
            "parameters": [_NUMBER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["duplicate"],
                "properties": {
                    "duplicate": {"type": "string", "description": "the number of the duplicate ticket, e.g. WY20250301-0002"},
                    "force": {"type": "boolean", "default": False, "description": "merge even though the matters differ"},
                },
            }}}},
            "responses": {
                "200": _ok("this ticket after the merge", {"$ref": "#/components/schemas/Ticket"}),
                "400": _error("the body is not valid"),
                "401": _UNAUTHORIZED,
                "403": _error("only administrators merge tickets"),
                "404": _error("no such ticket (either one), or not this token's"),
                "409": _error("a ticket is closed, or the matters differ and force is not set"),
                "422": _error("a ticket cannot be merged into itself"),
            },
        }},
        "/departments": {"get": {
            "operationId": "listDepartments",
            "summary": "the departments tickets go to",
            "responses": {
                "200": _ok("departments", {"type": "array", "items": {"type": "object", "required": ["code", "name", "level", "duties"],
                                                                      "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                                                                     "level": {"type": "string"},
                                                                                     "duties": {"type": "array", "items": {"type": "string"}}}}}),
                "401": _UNAUTHORIZED,
            },
        }},
        "/matters": {"get": {
            "operationId": "listMatters",
            "summary": "the matters (事项) a ticket can be about, and who is responsible",
            "responses": {
                "200": _ok("matters", {"type": "array", "items": {"type": "object",
                                                                  "required": ["id", "name", "intent", "department", "cooperating", "tier"],
                                                                  "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                                                                 "intent": {"type": "string", "enum": ["complaint", "repair"]},
                                                                                 "department": {"type": "string"},
                                                                                 "cooperating": {"type": "array", "items": {"type": "string"}},
                                                                                 "tier": {"type": "string", "enum": ["emergency", "utility", "ordinary", "complex"]}}}}),
                "401": _UNAUTHORIZED,
            },
        }},
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "a token from `wuye admin create-token`"}},
        "responses": {"Unauthorized": _error("no token, or an unknown or revoked one")},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "TicketSummary": {"type": "object", "required": list(_SUMMARY_FIELDS), "properties": _SUMMARY_FIELDS},
            "Ticket": {"type": "object", "required": [*_SUMMARY_FIELDS, *_DETAIL_FIELDS],
                       "properties": {**_SUMMARY_FIELDS, **_DETAIL_FIELDS}},
        },
    },
}
