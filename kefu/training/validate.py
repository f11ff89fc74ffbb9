"""Validate the training data: Rasa's validator plus Kefu's own checks.

    ./kefu.sh validate [--skip-rasa] [--strict]

Kefu's checks (errors fail the command; warnings fail it only with --strict):

- error   holdout leakage: a text of tests/nlu/holdout.yml (normalised) is in data/
- error   conflicting examples: one text (normalised: no blanks/punctuation, lower case)
          under two intents
- error   duplicate examples: one text (up to blanks and case) twice under the same intent
- error   responses with fewer than 2 variants (customers notice a bot repeating itself)
- warning intents without stories or rules (forms may still use them, e.g. inform/correct)
- warning annotated entities that the entity ruler or regexes extract (DIET would
          duplicate them; annotate only time, address, person_name)

Rasa's validator is ``rasa data validate`` (domain, intents, utterances, forms, slot
mappings, story structure), run as a subprocess.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from kefu.training.nluyaml import read_examples
from kefu.training.project import Project, holdout_index, normalise, nlu_files



@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity.upper():<7} {self.check:<22} {self.message}"


def _rel(project: Project, path: Path) -> str:
    return str(path.relative_to(project.root)) if path.is_relative_to(project.root) else str(path)


def check_examples(project: Project) -> List[Finding]:
    findings: List[Finding] = []
    seen: Dict[str, List[Tuple[str, str, str]]] = defaultdict(list)  # norm -> [(file, intent, text)]
    annotated_elsewhere: Dict[str, int] = defaultdict(int)
    for path in nlu_files(project.data):
        for example in read_examples(path):
            seen[normalise(example["text"])].append((_rel(project, path), example["intent"], example["text"]))
            for entity in example["entities"]:
                if entity["entity"] not in project.annotated_entities:
                    annotated_elsewhere[f"{entity['entity']} in {_rel(project, path)}"] += 1
    for norm, places in sorted(seen.items()):
        if not norm:
            continue
        intents = sorted({intent for _, intent, _ in places})
        where = "; ".join(f"{file} ({intent})" for file, intent, _ in places)
        if len(intents) > 1:
            findings.append(Finding("error", "conflicting-examples", f"'{places[0][2]}' under {', '.join(intents)}: {where}"))
        else:
            # Duplicates: the same text up to blanks and case. Formatting variants such as
            # 13812345678 / 138-1234-5678 tokenise differently and are kept on purpose.
            forms: Dict[str, List[str]] = defaultdict(list)
            for file, _, text in places:
                forms["".join(text.split()).lower()].append(file)
            for files in forms.values():
                if len(files) > 1:
                    findings.append(Finding("error", "duplicate-examples",
                                            f"'{places[0][2]}' ({intents[0]}) {len(files)}×: {', '.join(files)}"))
    holdout = holdout_index(project)
    leaked = [(places[0], holdout.entries[norm][0]) for norm, places in sorted(seen.items()) if norm in holdout.entries]
    for (file, intent, text), _ in leaked:
        findings.append(Finding("error", "holdout-leakage", f"'{text}' ({intent}) in {file} is a holdout text"))
    for where, count in sorted(annotated_elsewhere.items()):
        findings.append(Finding("warning", "annotated-entity",
                                f"{count} annotation(s) of {where}: extracted by ruler/regex, leave unannotated"))
    return findings


def check_domain(project: Project) -> List[Finding]:
    from rasa.shared.core.constants import DEFAULT_INTENTS
    from rasa.shared.core.events import UserUttered

    findings: List[Finding] = []
    importer = project.importer()
    domain = importer.get_domain()
    stories = importer.get_stories()
    used = set()
    for step in stories.story_steps:
        for event in step.events:
            if isinstance(event, UserUttered) and event.intent_name:
                used.add(event.intent_name)
    for intent in domain.intents:
        if intent in used or intent in DEFAULT_INTENTS or intent.startswith("EXTERNAL"):
            continue
        findings.append(Finding("warning", "intent-without-story", f"intent '{intent}' appears in no story or rule"))
    for name, variants in sorted(domain.responses.items()):
        if len(variants) < 2:
            findings.append(Finding("error", "response-variants", f"response '{name}' has {len(variants)} variant(s), needs 2"))
    return findings


def project_checks(project: Project) -> List[Finding]:
    return check_examples(project) + check_domain(project)


def rasa_validate(project: Project) -> Tuple[bool, str]:
    """``rasa data validate`` on the project; (passed, its output)."""
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env["PYTHONPATH"] = str(project.root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--config", str(project.config), "--domain",
         str(project.domain), "--data", str(project.data)],
        cwd=project.root, env=env, capture_output=True, text=True,
    )
    return proc.returncode == 0, proc.stdout + proc.stderr


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def rasa_messages(output: str) -> List[str]:
    """Rasa's warnings and errors from its output, one line each, in order, no repeats."""
    found: List[str] = []
    for line in _ANSI.sub("", output).splitlines():
        match = re.search(r"UserWarning: (.*)", line) or re.search(r"\b(ERROR\b.*)", line)
        if match and match.group(1).strip() not in found:
            found.append(match.group(1).strip())
    # "The utterance 'a' is not used …" 60 times -> one line naming them all.
    groups: Dict[str, List[Tuple[str, str]]] = {}
    for message in found:
        names = re.findall(r"'([^']+)'", message)
        key = re.sub(r"'[^']+'", "'…'", message) if len(names) == 1 else message
        groups.setdefault(key, []).append((message, names[0] if len(names) == 1 else ""))
    lines: List[str] = []
    for key, items in groups.items():
        if len(items) >= 4:
            lines.append(f"{len(items)}× {key} — {', '.join(name for _, name in items)}")
        else:
            lines.extend(message for message, _ in items)
    return lines


def main(argv: Optional[List[str]] = None, project: Optional[Project] = None) -> int:
    parser = argparse.ArgumentParser(prog="kefu validate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-rasa", action="store_true", help="only Kefu's checks (seconds instead of ~1 min)")
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
    args = parser.parse_args(argv or [])
    project = project or Project.default()
    started = time.monotonic()
    rasa_ok = True
    if not args.skip_rasa:
        print("rasa data validate …", flush=True)
        rasa_ok, output = rasa_validate(project)
        for line in rasa_messages(output):
            print("rasa:", line)
        print(f"rasa data validate: {'passed' if rasa_ok else 'FAILED'}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Rasa's loaders repeat what `rasa data validate` said
        findings = project_checks(project)
    for finding in findings:
        print(finding)
    errors = [f for f in findings if f.severity == "error"]
    warns = [f for f in findings if f.severity == "warning"]
    failed = not rasa_ok or errors or (args.strict and warns)
    print(f"validate: {'FAILED' if failed else 'passed'} — rasa {'ok' if rasa_ok else 'FAILED'}, "
          f"{len(errors)} errors, {len(warns)} warnings ({time.monotonic() - started:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
