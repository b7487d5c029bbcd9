"""Priority weights that learn (issue 14.3): fit the rules' points to outcomes. Pure.

No Flask, database or clock: ``weights_outcomes.py`` reads which leads converted and the facts
they had *before* their outcome; this module turns them into a feature matrix, fits, scores
held-out leads and suggests points. Nothing here writes a rule file; ``weights_diff.py`` only
*proposes* a text diff.

- **Features**: one 0/1 column per scored rule of ``rules/leads/priority.yaml`` (fit, urgency and
  engagement, file order): did the rule's ``when`` match the lead's facts (``feature_row``, the
  same compiled conditions ``score_lead`` runs). Overrides carry no points and are not columns.
- **Split**: deterministic by lead id (``in_training``: Knuth's multiplicative hash of the id,
  the top 70 % of the 32-bit range is held out), so a lead stays on its side between runs.
- **Fit**: scikit-learn's ``LogisticRegression`` (L2, ``C`` = 1, lbfgs, with an intercept) on the
  training leads. A rule that matched fewer than ``MIN_MATCHES`` training leads (or every one of
  them) is left out of the fit and keeps its points.
- **Suggested points**: the fitted coefficients on one scale, so the largest |coefficient| gets
  the largest |current points| among the fitted rules, rounded to 5 (one scale for all three
  axes: an axis that predicts nothing gets small points rather than amplified noise). The bands
  and the intent rule stay as they are, so the suggestion is read through the same A1–C3 grid.
- **Ranking quality**: the app ranks leads by tier (A1 first), so each set of points is judged by
  the tier it gives every held-out lead (``tier_scores``: the axis sums clamped to 0–100, the
  bands, intent = max or mean), as an AUC (ties count half). The fitted model's own probability
  is shown as a reference. A paired bootstrap (1,000 resamples of the held-out leads, seeded)
  gives 95 % intervals for both AUCs and their difference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from coachapp.leads.priority import AXES, FIT_BANDS, INTENT_BANDS, TIERS, LeadRules, ScoreBand, clean_facts

#: coach_judgement: the issue's "~100 leads with an outcome" (research §4.1), and enough of each
#: class that a held-out 30 % still has some.
MIN_LEADS, MIN_PER_CLASS = 100, 20
MIN_MATCHES = 10  # a rule matched by fewer training leads keeps its points (coach_judgement)
TRAIN_SHARE = 0.7
ROUND_TO = 5
C = 1.0  # inverse L2 strength (scikit-learn's default)
BOOTSTRAP, SEED = 1000, 14
METHOD = (
    "Logistic regression (scikit-learn LogisticRegression, L2 penalty, C = 1, lbfgs, with an intercept): "
    "one 0/1 feature per scored priority rule (did it match the lead's facts before the outcome), "
    "the outcome is whether the lead booked a session or became a client. Trained on 70 % of the "
    "leads with an outcome (chosen by a hash of the lead id), judged on the other 30 %."
)


@dataclass(frozen=True, slots=True)
class Column:
    rule_id: str
    axis: str
    points: float


@dataclass(frozen=True, slots=True)
class Sample:
    lead_id: int
    converted: bool
    features: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RuleRow:
    rule_id: str
    axis: str
    current: float
    suggested: float
    coef: float | None  # None: not fitted (see ``note``)
    matched: int  # training leads the rule matched
    matched_rate: float | None  # conversion among them
    note: str = ""

    @property
    def change(self) -> float:
        return self.suggested - self.current


@dataclass(frozen=True, slots=True)
class Interval:
    lo: float
    hi: float


@dataclass(frozen=True)
class FitResult:
    enough: bool
    message: str  # why not, when not enough
    leads: int
    converted: int
    train: int
    train_converted: int
    held_out: int
    held_out_converted: int
    rules: tuple[RuleRow, ...] = ()
    auc_current: float | None = None
    auc_suggested: float | None = None
    auc_model: float | None = None
    ci_current: Interval | None = None
    ci_suggested: Interval | None = None
    ci_change: Interval | None = None

    @property
    def changes(self) -> dict[str, float]:
        """Suggested points by rule id, for the rules whose points would change."""
        return {r.rule_id: r.suggested for r in self.rules if r.suggested != r.current}


def columns(rules: LeadRules) -> tuple[Column, ...]:
    """Every scored rule, axis by axis in file order: the feature columns."""
    return tuple(Column(r.id, axis, r.points) for axis in AXES for r in rules.rules[axis])


def feature_row(rules: LeadRules, facts: Mapping[str, Any]) -> tuple[int, ...]:
    """1 where a rule's ``when`` matches these facts, in ``columns`` order (as ``score_lead`` would)."""
    clean = clean_facts(facts, rules.facts)
    return tuple(int(rule.when(clean)) for axis in AXES for rule in rules.rules[axis])


def in_training(lead_id: int) -> bool:
    """Deterministic 70/30 split: Knuth's multiplicative hash of the id, top 30 % held out."""
    return ((lead_id * 2654435761) & 0xFFFFFFFF) < TRAIN_SHARE * 2**32


def _band_index(bands: tuple[ScoreBand, ...], names: tuple[str, ...], scores: np.ndarray) -> np.ndarray:
    out = np.zeros(scores.shape, dtype=np.int64)
    for band in bands:
        inside = np.ones(scores.shape, dtype=bool)
        if band.lo is not None:
            inside &= scores >= band.lo
        if band.hi is not None:
            inside &= scores < band.hi
        out[inside] = names.index(band.name)
    return out


def _clamp(totals: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(totals + 0.5), 0, 100)


def tier_scores(rules: LeadRules, cols: Sequence[Column], x: np.ndarray, points: Sequence[float]) -> np.ndarray:
    """The app's ranking of each row as a number: 9 for A1 … 1 for C3 (``TIERS`` order reversed).

    ``x`` is the 0/1 matrix in ``cols`` order; ``points`` one value per column. Mirrors
    ``score_lead``: per-axis sums clamped to 0–100 (rounded half up), intent max or mean, bands."""
    pts = np.asarray(points, dtype=float)
    totals = {}
    for axis in AXES:
        mask = np.array([c.axis == axis for c in cols])
        totals[axis] = _clamp(x[:, mask] @ pts[mask]) if mask.any() else np.zeros(len(x))
    if rules.intent == "max":
        intent = np.maximum(totals["urgency"], totals["engagement"])
    else:
        intent = _clamp((totals["urgency"] + totals["engagement"]) / 2)
    fit = _band_index(rules.fit_bands, FIT_BANDS, totals["fit"])
    urge = _band_index(rules.intent_bands, INTENT_BANDS, intent)
    return len(TIERS) - (fit * len(INTENT_BANDS) + urge)


def auc(scores: Sequence[float] | np.ndarray, labels: Sequence[bool] | np.ndarray) -> float | None:
    """Area under the ROC curve: P(a converted lead scores above a non-converted one), ties ½.

    Mann–Whitney with mid-ranks; None when either class is empty."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # mid-ranks: every run of equal scores gets the mean of its 1-based positions
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], len(s)]
    mid = (starts + 1 + ends) / 2
    ranks[order] = np.repeat(mid, ends - starts)
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _auc_from_counts(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUC per row from counts per score level (columns ascending): (B, L) → (B,)."""
    below = np.cumsum(neg, axis=1) - neg
    num = (pos * below).sum(axis=1) + 0.5 * (pos * neg).sum(axis=1)
    den = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def bootstrap(current: np.ndarray, suggested: np.ndarray, labels: np.ndarray,
              draws: int = BOOTSTRAP, seed: int = SEED) -> tuple[Interval, Interval, Interval]:
    """95 % percentile intervals (current, suggested, suggested − current) from a paired bootstrap.

    Tier scores take 9 values, so a resample of the leads is a multinomial draw over the
    (current tier, suggested tier, outcome) cells: exact, and cheap at any number of leads."""
    levels = len(TIERS)
    cell = ((current.astype(int) - 1) * levels + (suggested.astype(int) - 1)) * 2 + labels.astype(int)
    counts = np.bincount(cell, minlength=levels * levels * 2)
    rng = np.random.default_rng(seed)
    draws_ = rng.multinomial(len(labels), counts / counts.sum(), size=draws).reshape(draws, levels, levels, 2)
    cur = _auc_from_counts(draws_[..., 1].sum(axis=2), draws_[..., 0].sum(axis=2))
    sug = _auc_from_counts(draws_[..., 1].sum(axis=1), draws_[..., 0].sum(axis=1))
    ok = ~(np.isnan(cur) | np.isnan(sug))
    cur, sug = cur[ok], sug[ok]

    def interval(values: np.ndarray) -> Interval:
        lo, hi = np.percentile(values, [2.5, 97.5])
        return Interval(float(lo), float(hi))

    return interval(cur), interval(sug), interval(sug - cur)


def round_points(value: float) -> float:
    """To the nearest multiple of ``ROUND_TO``, halves away from zero; never -0."""
    steps = math.floor(abs(value) / ROUND_TO + 0.5)
    return float(math.copysign(steps * ROUND_TO, value)) if steps else 0.0


def suggest_points(cols: Sequence[Column], coefs: Sequence[float | None]) -> list[float]:
    """One scale for every fitted rule: the largest |coef| gets the largest |current points| among
    the fitted rules, the rest in proportion, rounded to 5. Unfitted rules (coef None) keep theirs.

    One scale, not one per axis: an axis whose rules predict nothing then gets small points
    instead of having its noise blown up to full size."""
    out = [c.points for c in cols]
    fitted = [i for i, c in enumerate(cols) if coefs[i] is not None]
    top_coef = max((abs(coefs[i]) for i in fitted), default=0.0)  # type: ignore[arg-type]
    top_points = max((abs(cols[i].points) for i in fitted), default=0.0)
    if top_coef <= 0 or top_points <= 0:
        return out
    for i in fitted:
        out[i] = round_points(coefs[i] * top_points / top_coef)  # type: ignore[operator]
    return out


def _too_few(train: np.ndarray, y: np.ndarray) -> str:
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if len(y) < MIN_LEADS or pos < MIN_PER_CLASS or neg < MIN_PER_CLASS:
        return (f"Too few outcomes to fit: {len(y)} leads with an outcome ({pos} converted, {neg} not); "
                f"the fit needs at least {MIN_LEADS}, with at least {MIN_PER_CLASS} of each.")
    held = ~train
    if not (y[held].any() and (~y[held]).any() and y[train].any() and (~y[train]).any()):
        return "Too few outcomes to fit: the training or the held-out leads have only one outcome."
    return ""


def fit_weights(rules: LeadRules, samples: Sequence[Sample]) -> FitResult:
    """Fit, judge on the held-out leads, suggest points. Too few outcomes → ``enough`` False."""
    cols = columns(rules)
    y = np.array([s.converted for s in samples], dtype=bool)
    train = np.array([in_training(s.lead_id) for s in samples], dtype=bool)
    counts = {"leads": len(y), "converted": int(y.sum()), "train": int(train.sum()),
              "train_converted": int(y[train].sum()), "held_out": int((~train).sum()),
              "held_out_converted": int(y[~train].sum())}
    reason = _too_few(train, y)
    if reason:
        return FitResult(enough=False, message=reason, **counts)
    x = np.array([s.features for s in samples], dtype=np.int8).reshape(len(samples), len(cols))
    x_train, y_train = x[train], y[train]
    matched = x_train.sum(axis=0)
    usable = (matched >= MIN_MATCHES) & (matched < len(y_train))
    from sklearn.linear_model import LogisticRegression  # heavy import, only when fitting

    model = LogisticRegression(C=C, solver="lbfgs", max_iter=1000)
    model.fit(x_train[:, usable], y_train)
    coefs: list[float | None] = [None] * len(cols)
    for j, i in enumerate(np.flatnonzero(usable)):
        coefs[i] = float(model.coef_[0][j])
    suggested = suggest_points(cols, coefs)
    held_x, held_y = x[~train], y[~train]
    current_scores = tier_scores(rules, cols, held_x, [c.points for c in cols])
    suggested_scores = tier_scores(rules, cols, held_x, suggested)
    model_scores = model.decision_function(held_x[:, usable])
    ci_current, ci_suggested, ci_change = bootstrap(current_scores, suggested_scores, held_y)
    rows = []
    for i, c in enumerate(cols):
        hits = int(matched[i])
        rate = float(y_train[x_train[:, i] == 1].mean()) if hits else None
        note = "" if coefs[i] is not None else (
            "never matched a lead before its outcome: kept" if hits == 0 else
            "matched every training lead: kept" if hits == len(y_train) else
            f"matched fewer than {MIN_MATCHES} training leads: kept")
        rows.append(RuleRow(c.rule_id, c.axis, c.points, suggested[i], coefs[i], hits, rate, note))
    return FitResult(
        enough=True, message="", **counts, rules=tuple(rows),
        auc_current=auc(current_scores, held_y), auc_suggested=auc(suggested_scores, held_y),
        auc_model=auc(model_scores, held_y), ci_current=ci_current, ci_suggested=ci_suggested,
        ci_change=ci_change,
    )


def result_to_dict(result: FitResult) -> dict[str, Any]:
    """JSON-serialisable (stored with a fit); ``result_from_dict`` rebuilds an equal result."""
    return asdict(result)


def result_from_dict(data: Mapping[str, Any]) -> FitResult:
    def interval(raw: Any) -> Interval | None:
        return Interval(**raw) if raw else None

    return FitResult(**{**data, "rules": tuple(RuleRow(**r) for r in data.get("rules", ())),
                        **{k: interval(data.get(k)) for k in ("ci_current", "ci_suggested", "ci_change")}})
