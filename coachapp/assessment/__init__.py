"""Runner assessment engine: rules loaded from YAML, pure evaluation, plan building.

Public API::

    rules = load_rules(Path("rules"))            # RulesError lists every problem
    values, errors = clean_answers(rules.assessment, raw, section_id=None, existing=None)
    result = evaluate(rules, values, today=date.today())
    result.to_dict()
"""

from .answers import clean_answers
from .engine import Result, evaluate
from .model import Assessment, Option, Question, Section, SelfTest
from .rules import Rules, RulesError, load_rules

__all__ = [
    "Assessment",
    "Option",
    "Question",
    "Result",
    "Rules",
    "RulesError",
    "Section",
    "SelfTest",
    "clean_answers",
    "evaluate",
    "load_rules",
]
