"""With Rasa's selective domain (config/reliability.yml action_calls.selective_domain) only
actions named validate_* receive the domain; every other action gets ``{}``. This keeps
the other actions from reading it: a domain read there would silently see nothing."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

ACTIONS = Path(__file__).resolve().parents[2] / "actions"
PASS_THROUGH = {"run", "start_request"}  # calls that hand the domain on to another action


def _action_name(cls: ast.ClassDef) -> str:
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name == "name":
            returned = [n.value for n in ast.walk(node) if isinstance(n, ast.Return)]
            if returned and isinstance(returned[0], ast.Constant):
                return str(returned[0].value)
    return ""


def _domain_reads(node: ast.AST) -> Iterator[ast.Name]:
    """Uses of the name ``domain`` other than handing it on (``X().run(d, t, domain)``)."""
    handed_on = set()
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        func = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if func in PASS_THROUGH:
            handed_on.update(id(a) for a in call.args if isinstance(a, ast.Name))
    for name in ast.walk(node):
        if isinstance(name, ast.Name) and name.id == "domain" and isinstance(name.ctx, ast.Load) and id(name) not in handed_on:
            yield name


def _readers(folder: Path = ACTIONS) -> List[Tuple[str, str, int]]:
    found = []
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                name = _action_name(node)
                if name and not name.startswith("validate_"):
                    found += [(path.name, node.name, n.lineno) for n in _domain_reads(node)]
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in PASS_THROUGH:
                found += [(path.name, node.name, n.lineno) for n in _domain_reads(node)]
    return found


def test_only_form_validators_read_the_domain():
    assert _readers() == []


def test_the_check_sees_a_domain_read(tmp_path):
    source = (
        "class ActionX(Action):\n"
        "    def name(self):\n        return 'action_x'\n"
        "    async def run(self, dispatcher, tracker, domain):\n"
        "        await Other().run(dispatcher, tracker, domain)\n"
        "        return domain.get('slots')\n"
    )
    (tmp_path / "x.py").write_text(source, encoding="utf-8")
    assert _readers(tmp_path) == [("x.py", "ActionX", 6)]  # the read, not the hand-on
