"""./kefu.sh wiring of the trainer commands (each module parses its own arguments)."""
from __future__ import annotations

import pytest

from kefu import cli


def run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    return exit_info.value.code, capsys.readouterr()


@pytest.mark.parametrize("command, text", [
    ("export", "--low-satisfaction"),
    ("accept", "data/nlu/reviewed.yml"),
    ("validate", "--skip-rasa"),
    ("compare", "--max-drop"),
    ("rollout", "--rasa-url"),
    ("rollback", "--rasa-url"),
])
def test_help_comes_from_the_module(command, text, capsys):
    code, out = run([command, "--help"], capsys)
    assert code == 0 and f"kefu {command}" in out.out and text in out.out


def test_rollout_status_and_rollback_without_history(capsys):
    code, out = run(["rollout", "--status"], capsys)
    assert code == 0 and "current   –" in out.out
    code, out = run(["rollback", "--rasa-url", "http://127.0.0.1:9"], capsys)
    assert code == 1 and "rollback refused: no previous model" in out.err
