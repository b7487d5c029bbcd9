"""Outcome analytics (read side): which tiers, sources, priorities, flags and answers turn into clients.

The cohort is the period's leads (created in it, not erased), followed to now. Each lead reaches
a step of the chain **requested → booked → attended → client**, each a subset of the one before:

- **booked**: the lead was ever moved to "session booked" or beyond (``lead_events`` of kind
  "stage", or its stage now), or has a ``Booking`` row of any provider (a cancelled one too: they
  did book). A no-show was booked.
- **attended**: moved to "session held" or "client", or a booking marked held (attended).
- **client**: moved to "client" (or is one now).
- **requested**: sent the strategy-session form (a ``StrategyRequest``), or was booked (booking
  through a link is a request too).

The **predicted tier** is the tier the lead had before the outcome: the tier of its last "priority"
event before it was first booked (its first move to "session booked" or beyond, or its first
``Booking`` row; a booking raises engagement, so the tier after it would predict what already
happened); never booked: its last priority event;
with no priority event at all, its tier now if it was never booked, else none recorded.

The **assessment** of a lead is its first completed one (the earliest started): its top priority
region, its flags and its answers, as the runner first told them.

Everything is counted in one statement: a per-lead CTE (its outcome rank, predicted tier, source,
first assessment), then one ``GROUP BY`` per table, joined by ``UNION ALL``. Flags and answers are
unnested with the database's own JSON functions (``json_each``/``json_tree`` on SQLite,
``json_each``/``json_array_elements`` on PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.sql.selectable import CTE

from coachapp.analytics.answers import NONE_TICKED
from coachapp.dashboard.funnel import STAGE_RANK, stage_after
from coachapp.dashboard.period import Period
from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Booking, Lead, LeadEvent, StrategyRequest

#: Booking rows: every one was booked; "held" was attended.
BOOKING_RANK = {"held": 2}
BOOKED, ATTENDED, CLIENT = 1, 2, 3
NO_TIER = ""
DIMENSIONS = ("tier", "source", "priority", "flag", "answer")


def _max(a: ColumnElement[int], b: ColumnElement[int]) -> ColumnElement[int]:
    return case((a > b, a), else_=b)


def _rank_of_stage(column: ColumnElement[str]) -> ColumnElement[int]:
    return case(*[(column == stage, value) for stage, value in STAGE_RANK.items()], else_=0)


def per_lead(period: Period) -> CTE:
    """One row per lead of the period: ``lead_id, source, tier, sub_id, top_priority, requested, rank``."""
    cohort = select(Lead.id).where(period.leads())
    ranks = (select(LeadEvent.lead_id.label("lead_id"), _rank_of_stage(stage_after()).label("rank"))
             .where(LeadEvent.kind == "stage", LeadEvent.lead_id.in_(cohort))
             .union_all(select(Booking.lead_id, case(*[(Booking.status == s, r) for s, r in BOOKING_RANK.items()],
                                                     else_=BOOKED))
                        .where(Booking.lead_id.in_(cohort)))).subquery()
    reached = (select(ranks.c.lead_id, func.max(ranks.c.rank).label("rank"))
               .group_by(ranks.c.lead_id).subquery())
    booked_moments = (select(LeadEvent.lead_id.label("lead_id"), LeadEvent.created_at.label("at"))
                      .where(LeadEvent.kind == "stage", _rank_of_stage(stage_after()) >= BOOKED,
                             LeadEvent.lead_id.in_(cohort))
                      .union_all(select(Booking.lead_id, Booking.created_at).where(Booking.lead_id.in_(cohort)))
                      .subquery())
    first_booked = (select(booked_moments.c.lead_id, func.min(booked_moments.c.at).label("at"))
                    .group_by(booked_moments.c.lead_id).subquery())
    last_priority = (select(LeadEvent.lead_id.label("lead_id"), func.max(LeadEvent.id).label("event_id"))
                     .outerjoin(first_booked, first_booked.c.lead_id == LeadEvent.lead_id)
                     .where(LeadEvent.kind == "priority", LeadEvent.lead_id.in_(cohort),
                            or_(first_booked.c.at.is_(None), LeadEvent.created_at < first_booked.c.at))
                     .group_by(LeadEvent.lead_id).subquery())
    first_sub = (select(AssessmentSubmission.lead_id.label("lead_id"),
                        func.min(AssessmentSubmission.id).label("sub_id"))
                 .where(AssessmentSubmission.status == "completed", AssessmentSubmission.lead_id.in_(cohort))
                 .group_by(AssessmentSubmission.lead_id).subquery())
    tier_event = LeadEvent.__table__.alias("tier_event")
    sub = AssessmentSubmission.__table__.alias("first_assessment")
    rank = _max(func.coalesce(reached.c.rank, 0), _rank_of_stage(Lead.stage))
    tier = func.coalesce(tier_event.c.data["tier"].as_string(),
                         case((and_(last_priority.c.event_id.is_(None), rank < BOOKED), Lead.tier)), NO_TIER)
    requested = exists().where(StrategyRequest.lead_id == Lead.id)
    return (select(Lead.id.label("lead_id"), Lead.source.label("source"), cast(tier, String).label("tier"),
                   first_sub.c.sub_id.label("sub_id"), sub.c.top_priority.label("top_priority"),
                   case((or_(requested, rank >= BOOKED), 1), else_=0).label("requested"), rank.label("rank"))
            .outerjoin(reached, reached.c.lead_id == Lead.id)
            .outerjoin(last_priority, last_priority.c.lead_id == Lead.id)
            .outerjoin(tier_event, tier_event.c.id == last_priority.c.event_id)
            .outerjoin(first_sub, first_sub.c.lead_id == Lead.id)
            .outerjoin(sub, sub.c.id == first_sub.c.sub_id)
            .where(period.leads())
            .cte("per_lead"))


def _rows(per: CTE, key: ColumnElement, value: ColumnElement | None = None) -> Select:
    """``key, value, requested, rank`` per lead (and per flag or answer): what ``_tally`` groups."""
    return select(cast(key, String).label("key"), cast(value if value is not None else literal("", String), String)
                  .label("value"), per.c.requested, per.c.rank)


def _tally(dimension: str, rows: Select) -> Select:
    """``dimension, key, value, leads, requested, booked, attended, clients``, grouped by plain
    columns of a subquery (a bound parameter repeated in GROUP BY is not "the same" to PostgreSQL)."""
    r = rows.subquery()
    return (select(literal(dimension, String).label("dimension"), r.c.key, r.c.value, func.count().label("leads"),
                   func.sum(r.c.requested).label("requested"),
                   func.sum(case((r.c.rank >= BOOKED, 1), else_=0)).label("booked"),
                   func.sum(case((r.c.rank >= ATTENDED, 1), else_=0)).label("attended"),
                   func.sum(case((r.c.rank >= CLIENT, 1), else_=0)).label("clients"))
            .group_by(r.c.key, r.c.value))


def _flags(per: CTE, postgres: bool) -> Select:
    """One row per flag of each lead's assessment: its ``flag_ids`` (a short list), or for a row
    stored without them the result's flags (COALESCE reads the whole result only then)."""
    sub = AssessmentSubmission.__table__.alias("flag_source")
    if postgres:
        flags = func.coalesce(sub.c.flag_ids, sub.c.result["flags"])
        each = func.json_array_elements(case((func.json_typeof(flags) == "array", flags))).table_valued(
            "value", name="flag")
        kind = func.json_typeof(each.c.value)
        flag_id = case((kind == "object", each.c.value.op("->>")(literal("id"))),
                       (kind == "string", each.c.value.op("#>>")(literal_column("'{}'::text[]"))))
    else:
        flags = func.coalesce(sub.c.flag_ids, func.json_extract(sub.c.result, "$.flags"))
        each = func.json_each(flags).table_valued("value", "type", "atom", name="flag")
        flag_id = case((each.c.type == "object", func.json_extract(each.c.value, "$.id")),
                       (each.c.type == "text", each.c.atom))
    return _tally("flag", _rows(per, flag_id).select_from(
        per.join(sub, sub.c.id == per.c.sub_id).join(each, true())).where(flag_id.is_not(None)))


def _answers(per: CTE, question_ids: list[str], postgres: bool) -> Select:
    sub = AssessmentSubmission.__table__.alias("answer_source")
    if postgres:
        pair = func.json_each(sub.c.answers).table_valued("key", "value", name="pair")
        is_array = func.json_typeof(pair.c.value) == "array"
        item = func.json_array_elements_text(case((is_array, pair.c.value))).table_valued("value", name="item")
        question = pair.c.key
        value = case((is_array, func.coalesce(item.c.value, NONE_TICKED)),
                     else_=pair.c.value.op("#>>")(literal_column("'{}'::text[]")))  # the scalar as text
        source = per.join(sub, sub.c.id == per.c.sub_id).join(pair, true()).outerjoin(item, true())
        where = and_(question.in_(question_ids), value.is_not(None))
    else:  # one json_tree walk per assessment: top-level answers and the items of list answers
        node = func.json_tree(sub.c.answers).table_valued("key", "atom", "type", "path", "value", name="node")
        top = node.c.path == "$"
        # an item's path is $.terrain, or $."hm_5pq" (SQLite quotes a key that is not a plain name)
        question = case((top, node.c.key), else_=func.trim(func.substr(node.c.path, 3), '"'))
        scalar = node.c.type.not_in(("object", "array", "null"))
        value = case((node.c.type == "true", "true"), (node.c.type == "false", "false"),
                     (node.c.type == "array", NONE_TICKED), else_=cast(node.c.atom, String))
        source = per.join(sub, sub.c.id == per.c.sub_id).join(node, true())
        where = and_(question.in_(question_ids), or_(
            and_(top, scalar),
            and_(top, node.c.type == "array", func.json_array_length(node.c.value) == 0),
            and_(node.c.path.like("$.%"), node.c.path.not_like("$.%.%"), node.c.path.not_like("%[%"), scalar)))
    return _tally("answer", _rows(per, question, value).select_from(source).where(where))


def outcome_counts(period: Period, question_ids: list[str]) -> list[tuple[str, str, str, int, int, int, int, int]]:
    """Every table's counts in one statement: ``(dimension, key, value, leads, requested, booked,
    attended, clients)``; ``value`` is the answer (answers only). Keys: the predicted tier (``""``
    when none was recorded), the source as stored, the top priority region (``""``: no clear
    priority; None: no completed assessment), the flag id, the question id."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    per = per_lead(period)
    parts = [
        _tally("tier", _rows(per, per.c.tier)),
        _tally("source", _rows(per, per.c.source)),
        _tally("priority", _rows(per, case((per.c.sub_id.is_(None), None),
                                           else_=func.coalesce(per.c.top_priority, "")))),
        _flags(per, postgres),
    ]
    if question_ids:
        parts.append(_answers(per, question_ids, postgres))
    rows = db.session.execute(parts[0].union_all(*parts[1:])).all()
    return [(d, k, v, int(n), int(r or 0), int(b or 0), int(a or 0), int(c or 0)) for d, k, v, n, r, b, a, c in rows]
