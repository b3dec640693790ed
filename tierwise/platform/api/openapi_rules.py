"""The rules part of the OpenAPI document: rule sets, retier runs and tiers, merged into ``openapi.py``'s."""
from __future__ import annotations

from tierwise.platform.api import rules
from tierwise.platform.api.bodies import NO_BODY
from tierwise.platform.api.openapi_parts import PAGING as _PAGING
from tierwise.platform.api.openapi_parts import TIME as _TIME
from tierwise.platform.api.openapi_parts import UUID as _UUID
from tierwise.platform.api.openapi_parts import id_param as _id_param
from tierwise.platform.api.openapi_parts import items as _items
from tierwise.platform.api.openapi_parts import json_body as _json
from tierwise.platform.api.openapi_parts import page_of
from tierwise.platform.api.openapi_parts import ref as _ref
from tierwise.platform.api.openapi_parts import responses as _responses

_CODE = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$"}
_LABEL = {"type": "string", "maxLength": 100}
_COUNTS = {"type": "object", "properties": {name: {"type": "integer"} for name in ("up", "down", "new", "held")}}

_VERSION_PROPERTIES = {
    "id": _UUID, "number": {"type": ["integer", "null"], "description": "null for the draft"},
    "note": {"type": "string"},
    "restored_from": {"type": ["integer", "null"], "description": "The version a rollback published again."},
    "created_by": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "published_by": {"type": ["string", "null"]}, "published_at": _TIME}

# The rule set's own shape: stored as sent (normalised), so documented here rather than by an allow-list.
RULE_SCHEMAS = {
    "RuleSetDefinition": {
        "type": "object", "required": ["dimensions"], "additionalProperties": False,
        "description": "Dimensions with their tiers, highest rank first; the first tier whose rule matches wins. "
                       "The built-in dimensions value, high_risk and opinion_risk must be present.",
        "properties": {
            "value_measure": {"type": "string", "default": "sum(amount, 365d)",
                              "description": "The numeric expression that ranks customers by value."},
            "dimensions": {"type": "array", "minItems": 1, "items": _ref("RuleDimension")}}},
    "RuleDimension": {"type": "object", "required": ["code", "tiers"], "additionalProperties": False, "properties": {
        "code": _CODE, "label_en": _LABEL, "label_zh": _LABEL,
        "description": {"type": "string", "maxLength": 1000, "description": "In English."},
        "description_zh": {"type": "string", "maxLength": 1000, "description": "In Chinese."},
        "hysteresis": {"type": "object", "additionalProperties": False,
                       "description": "Leave a tier only after `evaluations` evaluations in a row say so, and/or "
                                      "only when past its bounds by `margin` (a fraction of each bound).",
                       "properties": {"evaluations": {"type": "integer", "minimum": 1, "maximum": 12, "default": 1},
                                      "margin": {"type": "number", "minimum": 0, "maximum": 0.5, "default": 0}}},
        "tiers": {"type": "array", "minItems": 2, "items": _ref("RuleTier"),
                  "description": "Every tier but the last has a rule; the last is the fallback."}}},
    "RuleTier": {"type": "object", "required": ["code"], "additionalProperties": False, "properties": {
        "code": _CODE, "label_en": _LABEL, "label_zh": _LABEL,
        "colour": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
        "rule": {"type": "string", "maxLength": 2000,
                 "example": 'facility_type in ["hospital"] and outage_consequence >= 4'},
        "fallback": {"type": "boolean", "const": True}}},
    "RuleSetVersion": {"type": "object", "properties": _VERSION_PROPERTIES},
    "RuleSetVersionDetail": {"type": "object", "properties": {**_VERSION_PROPERTIES,
                                                              "definition": _ref("RuleSetDefinition")}},
    "RuleChange": {"type": "object", "required": ["change"], "properties": {
        "change": {"type": "string", "examples": ["created", "rule", "tier_added", "dimension_removed"]},
        "dimension": {"type": "string"}, "tier": {"type": "string"},
        "dimensions": {"type": "array", "items": {"type": "string"}, "description": "For `created`."},
        "before": {}, "after": {}}},
    "RuleSetValidation": {"type": "object", "required": ["ok", "dimensions", "rules"], "properties": {
        "ok": {"type": "boolean", "const": True}, "dimensions": {"type": "integer"},
        "rules": {"type": "integer", "description": "Tiers with a rule (every tier but each fallback)."}}},
    "RetierRun": {"type": "object", "properties": {
        "id": _UUID, "rule_version_id": _UUID,
        "as_of": {"type": "string", "format": "date-time", "description": (
            "The moment its windows end: just after the tenant's latest activity or interaction, up to now.")},
        "new_data": {"type": ["boolean", "null"], "description": (
            "Whether it saw new data since the previous successful retier: a later as_of, or anything imported, "
            "scored or erased since. Only then does hysteresis count it as one more evaluation for "
            "customers already waiting outside their tier. Null until the run starts.")},
        "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"],
                   "description": "queued until a worker (or the web process, without Redis) starts it."},
        "started_at": {"type": "string", "format": "date-time"}, "finished_at": _TIME,
        "customers": {"type": "integer"}, "changes": {"type": "object", "additionalProperties": _COUNTS,
                                                      "description": "Moves per dimension (up, down, new), and "
                                                                     "held: the customers hysteresis keeps in "
                                                                     "their tier after the run."},
        "message": {"type": "string", "description": "Why it failed, if it did."}, "started_by": {"type": "string"}}},
    "TierShare": {"type": "object", "properties": {
        "tier": {"type": "string"}, "label_en": {"type": "string"}, "label_zh": {"type": "string"},
        "colour": {"type": "string"}, "customers": {"type": "integer"},
        "share": {"type": "number", "description": "Of the customers the caller sees: the whole tenant for "
                                                   "admins and analysts, their book for an RM."}}},
    "DimensionDistribution": {"type": "object", "properties": {
        "dimension": {"type": "string"}, "label_en": {"type": "string"}, "label_zh": {"type": "string"},
        "tiers": {"type": "array", "items": _ref("TierShare")},
        "unclassified": {"type": "integer",
                         "description": "Customers without a tier yet (imported since the last retier)."},
        "other": {"type": "integer", "description": "Assigned by an older version to a tier this one no longer has."}}},
    "CustomerTier": {"type": "object", "properties": {
        "dimension": {"type": "string"}, "tier": {"type": "string"}, "label_en": {"type": "string"},
        "label_zh": {"type": "string"}, "colour": {"type": "string"},
        "basis": {"type": "string", "enum": ["rule", "fallback", "held"],
                  "description": "held: hysteresis kept the tier although the rules asked for another."},
        "reason": {"type": "object", "description": "The values the deciding rule looked at."},
        "rule": {"type": ["string", "null"], "description": "The tier's rule; null for a fallback tier."},
        "since": {"type": "string", "format": "date-time", "description": "When the customer entered this tier."},
        "evaluated_at": {"type": ["string", "null"], "format": "date-time",
                         "description": "The as-of of the last successful retier."},
        "decided_at": {"type": "string", "format": "date-time",
                       "description": "The moment the reason's values describe: the as-of of the retier that last "
                                      "changed the tier, basis, hysteresis state or rule version (unchanged rows "
                                      "are not rewritten)."},
        "version": {"type": ["integer", "null"], "description": "The rule set version that decided it."},
        "pending_tier": {"type": ["string", "null"]}, "pending_count": {"type": "integer"}}},
    "TierPeriod": {"type": "object", "properties": {
        "dimension": {"type": "string"}, "tier": {"type": "string"},
        "valid_from": {"type": "string", "format": "date-time"},
        "valid_to": {"type": ["string", "null"], "format": "date-time", "description": "null for the current period"},
        "rule_version_id": _UUID}},
    "Preview": {"type": "object", "properties": {
        "as_of": {"type": "string", "format": "date-time"}, "customers": {"type": "integer"},
        "total_value": {"type": "number"}, "seconds": {"type": "number", "description": "How long it took."},
        "reused": {"type": "boolean", "description": (
            "Built on the values an earlier preview kept (same data, same moment): only what the draft "
            "changed was computed.  as_of is then that preview's moment.")},
        "dimensions": {"type": "array", "items": _ref("DimensionPreview")}}},
    "DimensionPreview": {"type": "object", "properties": {
        "dimension": {"type": "string"}, "tiers": {"type": "array", "items": _ref("TierCount")},
        "matrix": {"type": "array", "items": _ref("TierMove"),
                   "description": "Customers from each current tier to each new one."},
        "moving_up": {"type": "array", "items": _ref("MovingCustomer")},
        "moving_down": {"type": "array", "items": _ref("MovingCustomer")},
        "unchanged": {"type": "integer"},
        "held": {"type": "integer", "description": "Kept in their tier by hysteresis."},
        "unclassified": {"type": "integer"}}},
    "TierCount": {"type": "object", "properties": {
        "tier": {"type": "string"}, "customers": {"type": "integer"}, "value": {"type": "number"},
        "customer_share": {"type": "number"}, "value_share": {"type": "number"}}},
    "TierMove": {"type": "object", "properties": {
        "from": {"type": ["string", "null"], "description": "null: not assigned yet"}, "to": {"type": "string"},
        "customers": {"type": "integer"}}},
    "MovingCustomer": {"type": "object", "properties": {
        "customer_id": _UUID, "external_id": {"type": "string"}, "name": {"type": "string"},
        "from_tier": {"type": ["string", "null"]}, "to_tier": {"type": "string"}, "reason": {"type": "object"}}},
}


_VERSION_CREATED = {"201": _json(_ref("RuleSetVersionDetail"), "The new version; its address is in Location")}
_CUSTOMER_TIERS = {"type": "object", "required": ["customer_id", "tiers", "history"], "properties": {
    "customer_id": _UUID, "tiers": {"type": "array", "items": _ref("CustomerTier")},
    "history": {"type": "array", "items": _ref("TierPeriod"),
                "description": "Every period in a tier (the current one open), by dimension, the latest first"}}}

RULE_PATHS = {
    "/api/v1/rule-set": {
        "get": {"summary": "The rule set in force (the highest published version)", "operationId": "getRuleSet",
                "tags": ["rules"], "responses": _responses(
                    {"200": _json(_ref("RuleSetVersionDetail"), "The version in force")}, 403, 404)},
        "post": {"summary": "Validate and publish a rule set in one step, as the next version (tenant admins)",
                 "description": "Like `tierwise rules apply`; the draft, if any, is left as it is. "
                                "Run a retier afterwards for the tiers to follow.",
                 "operationId": "publishRuleSet", "tags": ["rules"],
                 "requestBody": rules.PUBLISH_BODY,
                 "responses": _responses(_VERSION_CREATED, 400, 403, 409, 422)}},
    "/api/v1/rule-set/versions": {"get": {
        "summary": "Published versions, newest first, without their definitions (tenant admins, analysts)",
        "operationId": "listRuleSetVersions", "tags": ["rules"],
        "responses": _responses({"200": _items("RuleSetVersion", "Versions, newest first")}, 403)}},
    "/api/v1/rule-set/versions/{version_id}": {"get": {
        "summary": "One published version, with what it changed from the version before it (tenant admins, analysts)",
        "operationId": "getRuleSetVersion", "tags": ["rules"], "parameters": [_id_param("version_id")],
        "responses": _responses({"200": _json({"allOf": [_ref("RuleSetVersionDetail"), {
            "type": "object", "required": ["diff"], "properties": {"diff": {
                "type": "array", "items": _ref("RuleChange")}}}]}, "The version and its diff")}, 403, 404)}},
    "/api/v1/rule-set/versions/{version_id}/rollback": {"post": {
        "summary": "Publish this version's rules again, as a new version (tenant admins)",
        "operationId": "rollBackRuleSet", "tags": ["rules"], "parameters": [_id_param("version_id")],
        "description": "409 if it is the version in force.",
        "requestBody": NO_BODY,
        "responses": _responses(_VERSION_CREATED, 403, 404, 409, 422)}},
    "/api/v1/rule-set/draft": {
        "get": {"summary": "The draft; 404 when there is none (tenant admins, analysts)",
                "operationId": "getRuleSetDraft", "tags": ["rules"],
                "responses": _responses({"200": _json(_ref("RuleSetVersionDetail"), "The draft")}, 403, 404)},
        "put": {"summary": "Validate and save the draft, replacing the previous one (tenant admins)",
                "operationId": "saveRuleSetDraft", "tags": ["rules"],
                "requestBody": rules.DRAFT_BODY,
                "responses": _responses({"200": _json(_ref("RuleSetVersionDetail"), "The saved draft")},
                                        400, 403, 422)},
        "delete": {"summary": "Discard the draft (tenant admins)", "operationId": "discardRuleSetDraft",
                   "tags": ["rules"], "responses": _responses({"204": {"description": "Discarded"}}, 403, 404)}},
    "/api/v1/rule-set/draft/publish": {"post": {
        "summary": "Publish the draft as the next version (tenant admins)", "operationId": "publishRuleSetDraft",
        "tags": ["rules"],
        "description": "Validated again first: the tenant's fields may have changed since it was saved.",
        "requestBody": NO_BODY,
        "responses": _responses(_VERSION_CREATED, 403, 404, 409, 422)}},
    "/api/v1/rule-set/validate": {"post": {
        "summary": "Check a rule set against the tenant's fields without saving anything (tenant admins, analysts)",
        "operationId": "validateRuleSet", "tags": ["rules"],
        "requestBody": rules.VALIDATE_BODY,
        "responses": _responses({"200": _json(_ref("RuleSetValidation"), "The rule set can be used")},
                                400, 403, 422)}},
    "/api/v1/rule-set/preview": {"post": {
        "summary": "What a rule set (or, with no body, the draft) would do if published and run now "
                   "(tenant admins, analysts)",
        "operationId": "previewRuleSet", "tags": ["rules"], "description": "Writes nothing.",
        "requestBody": rules.PREVIEW_BODY,
        "responses": _responses({"200": _json(_ref("Preview"), "Counts, value, migration matrix and sample movers "
                                                              "per dimension")}, 400, 403, 404, 422)}},
    "/api/v1/retier-runs": {
        "get": {"summary": "Retier runs, newest first (tenant admins, analysts: they count the whole tenant)",
                "operationId": "listRetierRuns",
                "tags": ["tiers"], "parameters": _PAGING,
                "responses": _responses({"200": _json(page_of("RetierRun"), "A page of runs")}, 400, 403)},
        "post": {"summary": "Retier every customer under the rules in force (tenant admins)",
                 "operationId": "startRetierRun", "tags": ["tiers"],
                 "description": "One retier per tenant may be queued or running at a time (409 otherwise).",
                 "requestBody": NO_BODY,
                 "responses": _responses({"202": _json(_ref("RetierRun"), "The run: queued (poll Location), or "
                                                                          "already finished without Redis")},
                                         400, 403, 404, 409)}},
    "/api/v1/retier-runs/{retier_run_id}": {"get": {
        "summary": "One retier run, with its counts or why it failed (tenant admins, analysts)",
        "operationId": "getRetierRun", "tags": ["tiers"], "parameters": [_id_param("retier_run_id")],
        "responses": _responses({"200": _json(_ref("RetierRun"), "The run")}, 403, 404)}},
    "/api/v1/tiers": {"get": {
        "summary": "Customers per tier in each dimension of the rule set in force, among the customers you may "
                   "see (an RM: their book)",
        "operationId": "getTierDistribution", "tags": ["tiers"],
        "responses": _responses({"200": _items("DimensionDistribution", "One entry per dimension")}, 403)}},
    "/api/v1/customers/{customer_id}/tiers": {"get": {
        "summary": "The customer's tier in each dimension, the rule that decided it, and its history "
                   "(404 if it is not in your book)",
        "operationId": "getCustomerTiers", "tags": ["tiers"], "parameters": [_id_param("customer_id")],
        "responses": _responses({"200": _json(_CUSTOMER_TIERS, "Tiers and history")}, 403, 404)}},
}
