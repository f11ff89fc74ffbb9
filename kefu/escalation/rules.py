"""Parse and validate config/escalation_rules.yml into condition trees.

Every error names the file and the line (ruamel.yaml keeps positions), so an operator
who mistypes an operator or a group sees exactly where.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from kefu.errors import ConfigError
from kefu.escalation.context import SEVERITY_LEVELS
from kefu.settings import PRIORITIES  # handoffs share the ticket priorities


class RulesError(ConfigError):
    """The rules file is invalid; the message names the file and line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"{where}: {message}", line=line)
        self.line = line


# field -> kind; the kind decides which operators and values apply.
_FIELDS: dict[str, str] = {
    "intent": "str",
    "confidence": "number",
    "text": "text",
    "active_form": "str",
    "customer_tier": "str",
    "repeat_complaint": "bool",
    "ticket_overdue": "bool",
    "emergency": "bool",
    "urge_count": "number",
    "consecutive_fallbacks": "number",
    "form_stall_turns": "number",
    "human_request_count": "number",
    "severity": "severity",
}
_SLOT_PREFIX = "slots."
_OPERATORS: dict[str, set[str]] = {
    "str": {"eq", "ne", "in", "not_in", "present"},
    "text": {"eq", "ne", "in", "not_in", "present", "lexicon"},
    "any": {"eq", "ne", "in", "not_in", "present"},
    "number": {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte"},
    "severity": {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte"},
    "bool": {"eq", "ne"},
}
_RULE_KEYS = {"id", "group", "priority", "reason", "when", "enabled"}
_TOP_KEYS = {"severity", "rules"}


@dataclass(frozen=True)
class Facts:
    """Lazily computed view of a turn that conditions read."""

    get: Callable[[str], Any]  # field name -> value
    lexicon_terms: Callable[[Iterable[str]], list[str]]  # lexicon names -> matched terms
    severity_terms: Callable[[], list[str]]


class Condition:
    def test(self, facts: Facts, terms: list[str]) -> bool:  # pragma: no cover - interface
        """True if the condition holds; appends the lexicon terms that made it true."""
        raise NotImplementedError


@dataclass(frozen=True)
class AllOf(Condition):
    parts: tuple[Condition, ...]

    def test(self, facts: Facts, terms: list[str]) -> bool:
        found: list[str] = []
        if all(part.test(facts, found) for part in self.parts):
            terms.extend(found)
            return True
        return False


@dataclass(frozen=True)
class AnyOf(Condition):
    parts: tuple[Condition, ...]

    def test(self, facts: Facts, terms: list[str]) -> bool:
        # Evaluate every branch so the agent sees all the terms that matched.
        results = [part.test(facts, terms) for part in self.parts]
        return any(results)


@dataclass(frozen=True)
class Not(Condition):
    part: Condition

    def test(self, facts: Facts, terms: list[str]) -> bool:
        return not self.part.test(facts, [])


def _severity_rank(level: Any) -> int:
    return SEVERITY_LEVELS.index(level)


@dataclass(frozen=True)
class Leaf(Condition):
    field: str
    op: str
    value: Any

    def test(self, facts: Facts, terms: list[str]) -> bool:
        if self.op == "lexicon":
            found = facts.lexicon_terms(self.value)
            terms.extend(found)
            return bool(found)
        actual = facts.get(self.field)
        if self.op == "present":
            return (actual not in (None, "", [], {})) == self.value
        if self.field == "severity":
            ok = _compare(self.op, _severity_rank(actual), _ranks(self.value))
            if ok and actual != "none":
                terms.extend(facts.severity_terms())
            return ok
        return _compare(self.op, actual, self.value)


def _ranks(value: Any) -> Any:
    if isinstance(value, list):
        return [_severity_rank(v) for v in value]
    return _severity_rank(value)


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if actual is None:
        return False
    return {
        "gt": actual > expected,
        "gte": actual >= expected,
        "lt": actual < expected,
        "lte": actual <= expected,
    }[op]


@dataclass(frozen=True)
class Rule:
    id: str
    group: str
    priority: str
    reason: str
    when: Condition


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    severity_lexicons: Mapping[str, str]  # lexicon -> level
    severity_escalate_after: int  # distinct terms of one level that count as the next level


class _Parser:
    def __init__(self, path: Path, groups: set[str], lexicons: set[str]) -> None:
        self.path = path
        self.groups = groups
        self.lexicons = lexicons

    def fail(self, line: int | None, message: str) -> RulesError:
        return RulesError(self.path, line, message)

    @staticmethod
    def key_line(node: Any, key: Any) -> int | None:
        try:
            return node.lc.key(key)[0] + 1
        except (AttributeError, KeyError, TypeError):
            return _line(node)

    @staticmethod
    def item_line(node: Any, index: int) -> int | None:
        try:
            return node.lc.item(index)[0] + 1
        except (AttributeError, KeyError, TypeError, IndexError):
            return _line(node)

    def parse(self, data: Any) -> RuleSet:
        if not isinstance(data, Mapping):
            raise self.fail(1, "the file must be a mapping with 'severity' and 'rules'")
        for key in data:
            if key not in _TOP_KEYS:
                raise self.fail(
                    self.key_line(data, key),
                    f"unknown key '{key}' (allowed: {', '.join(sorted(_TOP_KEYS))})",
                )
        severity_lexicons, escalate_after = self.parse_severity(data.get("severity") or {})
        rules_node = data.get("rules")
        if not isinstance(rules_node, list) or not rules_node:
            raise self.fail(self.key_line(data, "rules"), "'rules' must be a non-empty list")
        rules: list[Rule] = []
        seen: set[str] = set()
        for index, node in enumerate(rules_node):
            rule = self.parse_rule(node, self.item_line(rules_node, index))
            if rule is None:
                continue
            if rule.id in seen:
                raise self.fail(self.key_line(node, "id"), f"duplicate rule id '{rule.id}'")
            seen.add(rule.id)
            rules.append(rule)
        return RuleSet(tuple(rules), severity_lexicons, escalate_after)

    def parse_severity(self, node: Any) -> tuple[dict[str, str], int]:
        if not isinstance(node, Mapping):
            raise self.fail(_line(node), "'severity' must be a mapping")
        for key in node:
            if key not in ("lexicons", "escalate_after"):
                raise self.fail(
                    self.key_line(node, key),
                    f"unknown key '{key}' in severity (allowed: escalate_after, lexicons)",
                )
        mapping = node.get("lexicons") or {}
        if not isinstance(mapping, Mapping):
            raise self.fail(self.key_line(node, "lexicons"), "'severity.lexicons' must be a mapping")
        result: dict[str, str] = {}
        for name, level in mapping.items():
            line = self.key_line(mapping, name)
            if name not in self.lexicons:
                raise self.fail(line, f"unknown lexicon '{name}' (files: {_names(self.lexicons)})")
            if level not in SEVERITY_LEVELS[1:]:
                raise self.fail(
                    line, f"unknown severity level '{level}' (allowed: {', '.join(SEVERITY_LEVELS[1:])})"
                )
            result[str(name)] = str(level)
        escalate_after = node.get("escalate_after", 0)
        if not isinstance(escalate_after, int) or isinstance(escalate_after, bool) or escalate_after < 0:
            raise self.fail(
                self.key_line(node, "escalate_after"), "'escalate_after' must be a whole number >= 0"
            )
        return result, escalate_after

    def parse_rule(self, node: Any, line: int | None) -> Rule | None:
        if not isinstance(node, Mapping):
            raise self.fail(line, "each rule must be a mapping with id, group, priority, reason, when")
        for key in node:
            if key not in _RULE_KEYS:
                raise self.fail(
                    self.key_line(node, key),
                    f"unknown key '{key}' in rule (allowed: {', '.join(sorted(_RULE_KEYS))})",
                )
        for key in ("id", "group", "priority", "reason", "when"):
            if key not in node:
                raise self.fail(line, f"rule is missing '{key}'")
        for key in ("id", "reason"):
            if not isinstance(node[key], str) or not node[key].strip():
                raise self.fail(self.key_line(node, key), f"'{key}' must be a non-empty text")
        if node["group"] not in self.groups:
            raise self.fail(
                self.key_line(node, "group"),
                f"unknown group '{node['group']}' (groups in config/desk.yml: {_names(self.groups)})",
            )
        if node["priority"] not in PRIORITIES:
            raise self.fail(
                self.key_line(node, "priority"),
                f"unknown priority '{node['priority']}' (allowed: {', '.join(PRIORITIES)})",
            )
        enabled = node.get("enabled", True)
        if not isinstance(enabled, bool):
            raise self.fail(self.key_line(node, "enabled"), "'enabled' must be true or false")
        when = self.parse_condition(node["when"], self.key_line(node, "when"))
        if not enabled:
            return None
        return Rule(str(node["id"]), str(node["group"]), str(node["priority"]), str(node["reason"]).strip(), when)

    def parse_condition(self, node: Any, line: int | None) -> Condition:
        if not isinstance(node, Mapping) or len(node) != 1:
            raise self.fail(
                _line(node) or line,
                "a condition is a mapping with exactly one key: all, any, not, or a field name",
            )
        (key, value), = node.items()
        key_line = self.key_line(node, key)
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise self.fail(key_line, f"'{key}' needs a non-empty list of conditions")
            parts = tuple(
                self.parse_condition(item, self.item_line(value, i)) for i, item in enumerate(value)
            )
            return AllOf(parts) if key == "all" else AnyOf(parts)
        if key == "not":
            return Not(self.parse_condition(value, key_line))
        return self.parse_leaf(str(key), value, node, key_line)

    def parse_leaf(self, field: str, value: Any, node: Any, line: int | None) -> Condition:
        if field.startswith(_SLOT_PREFIX) and len(field) > len(_SLOT_PREFIX):
            kind = "any"
        elif field in _FIELDS:
            kind = _FIELDS[field]
        else:
            raise self.fail(
                line,
                f"unknown field '{field}' (allowed: {', '.join(_FIELDS)}, slots.<name>)",
            )
        if isinstance(value, Mapping):
            if len(value) != 1:
                raise self.fail(line, f"'{field}' needs exactly one operator, e.g. {{gte: 2}}")
            (op, expected), = value.items()
            op_line = self.key_line(value, op)
        elif isinstance(value, list):
            op, expected, op_line = "in", value, line
        else:
            op, expected, op_line = "eq", value, line
        allowed = _OPERATORS[kind]
        if op not in allowed:
            raise self.fail(
                op_line, f"unknown operator '{op}' for '{field}' (allowed: {', '.join(sorted(allowed))})"
            )
        expected = self.check_value(field, kind, str(op), expected, op_line)
        return Leaf(field, str(op), expected)

    def check_value(self, field: str, kind: str, op: str, value: Any, line: int | None) -> Any:
        if op == "present":
            if not isinstance(value, bool):
                raise self.fail(line, f"'present' takes true or false, not {value!r}")
            return value
        if op == "lexicon":
            names = value if isinstance(value, list) else [value]
            for name in names:
                if name not in self.lexicons:
                    raise self.fail(line, f"unknown lexicon '{name}' (files: {_names(self.lexicons)})")
            return tuple(str(n) for n in names)
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise self.fail(line, f"'{op}' takes a non-empty list")
            return [self.check_scalar(field, kind, v, line) for v in value]
        return self.check_scalar(field, kind, value, line)

    def check_scalar(self, field: str, kind: str, value: Any, line: int | None) -> Any:
        if kind == "bool" and not isinstance(value, bool):
            raise self.fail(line, f"'{field}' is true or false, not {value!r}")
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise self.fail(line, f"'{field}' compares with a number, not {value!r}")
        if kind == "severity" and value not in SEVERITY_LEVELS:
            raise self.fail(
                line, f"unknown severity level '{value}' (allowed: {', '.join(SEVERITY_LEVELS)})"
            )
        if kind in ("str", "text") and value is not None and not isinstance(value, str):
            raise self.fail(line, f"'{field}' compares with a text, not {value!r}")
        return value


def _line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else None


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def load_rules(path: Path, groups: set[str], lexicons: set[str]) -> RuleSet:
    """Read and validate the rules file; raises RulesError naming the bad line."""
    path = Path(path)
    try:
        data = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise RulesError(path, mark.line + 1 if mark else None, f"not valid YAML: {exc.problem}") from exc
    except OSError as exc:
        raise RulesError(path, None, f"cannot read rules file: {exc}") from exc
    return _Parser(path, groups, lexicons).parse(data)
