"""Priority, ownership and the first-contact task for a lead.

``refresh_priority`` is called whenever new information arrives (a completed
assessment, a strategy-session request, a stage change); it turns what we know
about the lead into the flat *facts* the rules in ``rules/leads/`` read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from coachapp.assessment import Rules
from coachapp.extensions import db
from coachapp.leads import events
from coachapp.leads.assignment import CoachView, choose_coach
from coachapp.leads.priority import LeadPriority, score_lead
from coachapp.leads.services import add_event, events_held
from coachapp.leads.worktime import WorkingHours, add_working_minutes, parse_working_hours
from coachapp.models import AssessmentSubmission, Coach, CoachTask, Lead, StrategyRequest

SAFETY_ORDER = {"ok": 0, "amber": 1, "red": 2}


def latest_assessment(lead_id: int) -> AssessmentSubmission | None:
    return db.session.execute(
        select(AssessmentSubmission)
        .where(AssessmentSubmission.lead_id == lead_id, AssessmentSubmission.status == "completed")
        .order_by(AssessmentSubmission.completed_at.desc(), AssessmentSubmission.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def latest_request(lead_id: int) -> StrategyRequest | None:
    return db.session.execute(
        select(StrategyRequest).where(StrategyRequest.lead_id == lead_id)
        .order_by(StrategyRequest.id.desc()).limit(1)
    ).scalar_one_or_none()


def weeks_until(iso_date: str | None, today: date) -> float | None:
    if not iso_date:
        return None
    try:
        return round((date.fromisoformat(iso_date) - today).days / 7, 1)
    except ValueError:
        return None


def build_facts(lead: Lead, assessment: AssessmentSubmission | None,
                request: StrategyRequest | None, now: datetime) -> dict[str, Any]:
    """Everything the priority rules may read, from both forms (the newest wins)."""
    today = now.date()
    facts: dict[str, Any] = {
        "stage": lead.stage,
        "unsubscribed": False,
        "assessment_completed": assessment is not None,
        "strategy_requested": request is not None,
        "session_booked": lead.stage in ("session_booked", "session_held", "client"),
        "replied": lead.replied_at is not None,
        "safety_level": "red" if lead.needs_clinician else "ok",
    }
    if assessment is not None and assessment.result:
        answers, result = assessment.answers, assessment.result
        facts.update(
            is_runner=True,
            goal_event=answers.get("goal_event"),
            weeks_to_race=weeks_until(answers.get("race_date"), today),
            current_pain=answers.get("current_pain_nrs"),
            recent_injury=answers.get("injury_history") in ("recent_stopped", "recent_ran_through"),
            desk_hours=answers.get("desk_hours"),
            flags=[flag["id"] for flag in result.get("flags", [])],
            self_tests_done=(result.get("derived") or {}).get("self_tests_completed") or 0,
            # a retake that improved at least one self-test beyond its measurement error
            retake_progress=bool((result.get("progress") or {}).get("improved_tests")),
        )
        facts["safety_level"] = _worse(facts["safety_level"], result["safety"]["level"])
    if request is not None:
        answers = request.answers
        facts.update(
            service_interest=answers.get("services") or [],
            delivery=answers.get("delivery"),
            dealing_with=answers.get("dealing_with") or [],
            start_timing=answers.get("start_timing"),
            is_runner=(answers.get("running_history") != "not_running" if answers.get("running_history")
                       else "not_running" not in (answers.get("dealing_with") or [])),
        )
        if answers.get("in_area") is not None:
            facts["in_area"] = answers["in_area"]
        if answers.get("race_date"):
            facts["weeks_to_race"] = weeks_until(answers["race_date"], today)
        if "injury" in facts["dealing_with"] and facts.get("recent_injury") is None:
            facts["recent_injury"] = True
        facts["safety_level"] = _worse(facts["safety_level"], answers.get("safety", {}).get("level", "ok"))
    return facts


def _worse(a: str, b: str) -> str:
    return a if SAFETY_ORDER.get(a, 0) >= SAFETY_ORDER.get(b, 0) else b


def latest_of(lead: Lead, latest: events.Latest | None = None) -> events.Latest:
    """The lead's latest assessment and request: ``latest`` when the caller holds them, else read."""
    return latest if latest is not None else (latest_assessment(lead.id), latest_request(lead.id))


def refresh_priority(rules: Rules, lead: Lead, now: datetime,
                     latest: events.Latest | None = None) -> LeadPriority:
    """Recompute tier and reasons from everything known; note changes on the timeline.
    ``latest``: the lead's latest assessment and request, when the caller already holds them."""
    facts = build_facts(lead, *latest_of(lead, latest), now)
    priority = score_lead(rules.leads, facts)
    before = (lead.tier, lead.priority_status)
    _set_priority(lead, priority, now)
    if before != (priority.tier, priority.status):
        _priority_event(lead.id, before[0], priority, now)
    return priority


def _set_priority(lead: Lead, priority: LeadPriority, now: datetime) -> None:
    lead.tier = priority.tier
    lead.fit_score, lead.urgency_score, lead.engagement_score = (
        priority.fit, priority.urgency, priority.engagement)
    lead.priority_status = priority.status
    lead.priority = priority.to_dict()
    lead.priority_updated_at = now
    if priority.status == "clinician_first":
        lead.needs_clinician = True


def _priority_event(lead_id: int, was: str | None, priority: LeadPriority, now: datetime) -> None:
    add_event(lead_id, "priority", f"Tier {was or 'none'} → {priority.tier}: {priority.action}",
              now, was=was, tier=priority.tier, status=priority.status)


@dataclass(frozen=True)
class NewLeadPlan:
    """What a lead about to be inserted starts with: its tier, and its owner by the round robin."""

    priority: LeadPriority
    coach: Coach | None
    reason: str
    fallback: bool


def prepare_new_lead(rules: Rules, draft: Lead, latest: events.Latest, now: datetime,
                     services: list[str] | None = None, delivery: str | None = None) -> NewLeadPlan:
    """Tier and owner for a lead not inserted yet, set on the draft so the INSERT carries them
    (no UPDATE of the lead after it). Nothing is recorded here: ``record_new_lead`` does that
    once the INSERT has made the lead. If the email turns out to exist (a returning runner, or
    the same person twice at once) the plan is dropped and the usual path runs — the coaches
    were read and locked, but the round robin did not move."""
    draft.stage = draft.stage or "new"
    draft.needs_clinician = bool(draft.needs_clinician)
    priority = score_lead(rules.leads, build_facts(draft, *latest, now))
    _set_priority(draft, priority, now)
    coaches = _coaches()  # locked on PostgreSQL until the commit, as in ensure_owner
    choice = choose_coach(rules.leads.assignment, coach_views(list(coaches.values())),
                          services=services or [], delivery=delivery or "either")
    coach = coaches.get(choice.coach_id) if choice.coach_id is not None else None
    if coach is not None:
        draft.owner_id, draft.assigned_at = coach.id, now
    return NewLeadPlan(priority, coach, choice.reason, choice.fallback)


def record_new_lead(lead: Lead, plan: NewLeadPlan, now: datetime) -> None:
    """The new lead's tier and assignment on its timeline; the round robin moves on."""
    _priority_event(lead.id, None, plan.priority, now)
    if plan.coach is None:
        add_event(lead.id, "assignment", f"Not assigned: {plan.reason}", now)
        return
    plan.coach.last_assigned_at = now
    add_event(lead.id, "assignment", f"Assigned to {plan.coach.name}: {plan.reason}", now,
              coach_id=plan.coach.id, fallback=plan.fallback)


def _coaches() -> dict[int, Coach]:
    """Every coach by id. On PostgreSQL the same read row-locks them, which serialises round
    robin between concurrent requests (one statement, not two)."""
    query = select(Coach).order_by(Coach.id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    with db.session.no_autoflush:  # the lead's pending changes go in one UPDATE, later
        return {c.id: c for c in db.session.execute(query).scalars()}


def coach_views(coaches: list[Coach] | None = None) -> list[CoachView]:
    """The coaches as the round robin sees them (all of them, read, unless given)."""
    coaches = coaches if coaches is not None else list(_coaches().values())
    return [
        CoachView(id=c.id, name=c.name, active=c.active, services=frozenset(c.services or ()),
                  in_person=c.in_person, online=c.online, is_owner=c.is_owner, last_assigned_at=c.last_assigned_at)
        for c in coaches
    ]


def ensure_owner(rules: Rules, lead: Lead, services: list[str], delivery: str | None,
                 now: datetime) -> Coach | None:
    """Assign the lead by the rules (round robin, fallback owner). An active owner keeps the
    lead, unless the lead now asks for services that owner does not cover (an assessment-only
    lead, assigned to any coach, then requests a session): then it moves to one who does."""
    if not services and lead.owner_id is not None:
        owner = db.session.get(Coach, lead.owner_id)
        if owner is not None and owner.active:
            return owner
    coaches = _coaches()  # held: neither the owner nor the chosen coach is read again
    owner = coaches.get(lead.owner_id) if lead.owner_id is not None else None
    choice = choose_coach(rules.leads.assignment, coach_views(list(coaches.values())),
                          services=services, delivery=delivery or "either")
    if owner is not None and owner.active and (owner.id in choice.eligible or choice.fallback
                                               or choice.coach_id is None):
        return owner
    if choice.coach_id is None:
        add_event(lead.id, "assignment", f"Not assigned: {choice.reason}", now)
        return None
    coach = coaches[choice.coach_id]
    if owner is not None:
        _move_open_tasks(lead, owner, coach, now)
    lead.owner_id, lead.assigned_at = coach.id, now
    coach.last_assigned_at = now
    add_event(lead.id, "assignment", f"Assigned to {coach.name}: {choice.reason}", now,
              coach_id=coach.id, fallback=choice.fallback)
    return coach


def open_tasks(lead_id: int, kind: str | None = None) -> list[CoachTask]:
    """A lead's open tasks (of one kind, when given), oldest due first."""
    query = select(CoachTask).where(CoachTask.lead_id == lead_id, CoachTask.status == "open")
    if kind is not None:
        query = query.where(CoachTask.kind == kind)
    return list(db.session.execute(query.order_by(CoachTask.due_at, CoachTask.id)).scalars())


def _move_open_tasks(lead: Lead, old: Coach, new: Coach, now: datetime) -> None:
    for task in open_tasks(lead.id):
        task.coach_id = new.id
    add_event(lead.id, "assignment", f"Moved from {old.name} to {new.name}: the request needs a coach "
              "who offers what they asked for", now, coach_id=new.id)


def working_hours_for(rules: Rules, coach: Coach | None) -> WorkingHours:
    """The coach's hours; the business's default hours (rules/leads/assignment.yaml) otherwise."""
    if coach is not None and coach.working_hours:
        return parse_working_hours(coach.working_hours, tz=coach.time_zone)
    return rules.leads.assignment.working_hours


def ensure_first_contact_task(rules: Rules, lead: Lead, coach: Coach | None, priority: LeadPriority,
                              now: datetime, detail: str | None = None,
                              title: str = "First contact", created: bool = False) -> CoachTask | None:
    """One open first-contact task per lead, due within the tier's SLA in working time.
    ``created``: the lead is new in this transaction, so it has no task yet (nothing to read)."""
    if priority.sla_working_minutes is None:
        return None
    due = add_working_minutes(working_hours_for(rules, coach), start=now, minutes=priority.sla_working_minutes)
    task = None if created else next(iter(open_tasks(lead.id, "first_contact")), None)
    name = " ".join(filter(None, [lead.first_name, lead.last_name])) or lead.email_display
    if task is None:
        task = CoachTask(lead_id=lead.id, coach_id=coach.id if coach else None, kind="first_contact",
                         title=f"{title}: {name} ({priority.tier})", detail=detail,
                         due_at=due, status="open", created_at=now)
        db.session.add(task)
        with events_held():  # the task alone, for its id; the events wait for the commit's flush
            db.session.flush()
        add_event(lead.id, "task", f"Task for {coach.name if coach else 'the team'}: {task.title}", now,
                  task_id=task.id, due=due.isoformat(timespec='minutes'))
    elif due < task.due_at:  # more urgent now: pull it forward
        task.due_at = due
        task.title = f"{title}: {name} ({priority.tier})"
        add_event(lead.id, "task", f"Task moved earlier (now {priority.tier})", now, task_id=task.id,
                  due=due.isoformat(timespec='minutes'))
    return task



def change_stage(rules: Rules, lead: Lead, stage: str, now: datetime, by: str | None = None) -> LeadPriority:
    """Move a lead along the pipeline, then re-tier it; a closed lead's open tasks are cancelled."""
    from coachapp.models import STAGES

    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    before = lead.stage if stage != lead.stage else None
    if before is not None:
        add_event(lead.id, "stage", f"Moved from {lead.stage.replace('_', ' ')} to {stage.replace('_', ' ')}"
                  + (f" by {by}" if by else ""), now, before=lead.stage, after=stage)
        lead.stage = stage
    priority = refresh_priority(rules, lead, now)
    # booked, client, lost… stop what should stop; a no-show starts its recovery
    events.emit(events.LeadChanged(rules, lead, now, start=("stage_no_show",) if stage == "no_show" else (),
                                   occurred="stage_changed" if before else None, stage_before=before))
    if stage in rules.leads.tasks.close_on_stage:
        _close_first_contact(lead, stage, now)
    if priority.sla_working_minutes is None:
        for task in open_tasks(lead.id):
            task.status, task.completed_at = "cancelled", now
            add_event(lead.id, "task", f"Task cancelled ({priority.status}): {task.title}", now, task_id=task.id)
    return priority


def _close_first_contact(lead: Lead, stage: str, now: datetime) -> None:
    """The contact happened (or there is nobody left to contact): close the open task."""
    for task in open_tasks(lead.id, "first_contact"):
        task.status, task.completed_at = "done", now
        add_event(lead.id, "task", f"Task closed (stage {stage.replace('_', ' ')}): {task.title}", now,
                  task_id=task.id)
