"""Runner assessment engine: rules loaded from YAML, pure evaluation, plan building.

Public API::

    rules = load_rules(Path("rules"))            # RulesError lists every problem
    rules = load_rules_from_texts({"sources.yaml": "...", ...})   # the same, from stored texts
    values, errors = clean_answers(rules.assessment, raw, section_id=None, existing=None)
    result = evaluate(rules, values, today=date.today())
    result.to_dict()
"""

from .answers import clean_answers
from .engine import Result, evaluate
from .model import Assessment, Option, Question, Section, SelfTest
from .rules import FILES as RULE_FILES
from .rules import Rules, RulesError, load_rules, load_rules_from_texts, read_texts

__all__ = [
    "Assessment",
    "Option",
    "Question",
    "RULE_FILES",
    "Result",
    "Rules",
    "RulesError",
    "Section",
    "SelfTest",
    "clean_answers",
    "evaluate",
    "load_rules",
    "load_rules_from_texts",
    "read_texts",
]
