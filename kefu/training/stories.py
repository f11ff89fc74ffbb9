"""Reviewed dialogue stories: a trainer's correction of a real conversation -> a Rasa story.

The desk's conversation review (desk/review.py, "对话纠正") shows a flagged conversation
step by step (customer messages, the bot's actions and what they said). The trainer marks
the step where the bot went wrong and picks the right next action or response from the
domain; ``save_correction`` turns the conversation up to that point, plus the chosen
action, into a training story appended to ``data/stories/reviewed.yml``.

Pure part (no Rasa import, unit-tested on plain event dicts in Rasa's JSON form):

- ``steps_from_events``  tracker events (``Event.as_dict()``) -> display steps;
- ``build_story``        steps + correction -> a story (a dict in Rasa's YAML shape);
- ``story_block``        that story as YAML text to append.

Checks before anything is written (``save_correction``; usable without the desk):

- the intent and action exist in the domain (the choices the page offers);
- no customer text of the story is a held-out / test-split text (the same index the
  NLU review uses: ``kefu.training.accept.data_context(...).holdout``);
- the same story is not already in the file;
- Rasa's own ``rasa data validate`` passes on the training data *with* the new story
  (a subprocess on a temporary copy of data/: the caller never imports TensorFlow).

Training stories carry intents (and entities, slots, loops) but no customer text: the
text is NLU data (reviewed through the intent review), and text in stories would switch
TED to end-to-end training. The conversation id, corrected step, replaced action and
trainer are kept in the story's ``metadata``.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set

import yaml

from kefu.training.project import Project, review_lock, write_atomic

STORIES_HEADER = (
    "# Dialogue stories that trainers corrected from real conversations (desk review page,\n"
    "# 对话纠正). Appended by kefu/training/stories.py after `rasa data validate` and RulePolicy's\n"
    "# contradiction check; each story is the conversation up to the step that went wrong,\n"
    "# then the action the trainer chose.\n"
    "# `./kefu.sh compare` runs these stories against the candidate model (a failing story\n"
    "# refuses it). Hand edits are fine; keep the metadata.\n"
)
# Actions that are never a story step (Rasa adds them itself).
IMPLICIT_ACTIONS = {"action_listen", "action_session_start"}
# Rasa's own slots that are neither shown nor part of a story: the channel's session metadata
# (the customer's IP address, message ids) is not dialogue state and not for the trainer's eyes.
IMPLICIT_SLOTS = {"session_started_metadata"}
# Intents a trainer may not pick for the corrected message.
NOT_CHOOSABLE_INTENTS = {"nlu_fallback", "session_start", "restart", "back", "out_of_scope_default"}

MESSAGES = {
    "added": "已保存为训练故事",
    "exists": "训练故事中已有相同的对话",
    "bad_step": "请选择出错的那一步",
    "unknown_action": "动作不存在：{action}",
    "unknown_intent": "意图不存在：{intent}",
    "holdout": "对话中的“{text}”属于测试集（{file}），不能写入训练数据",
    "invalid": "Rasa 数据校验未通过，未写入：{detail}",
    "not_found": "找不到该对话",
}


class Refused(Exception):
    def __init__(self, reason: str, **fmt: Any) -> None:
        self.reason = reason
        self.message = MESSAGES[reason].format(**fmt)
        super().__init__(self.message)


# --- the conversation as steps --------------------------------------------------------------


@dataclass
class Step:
    index: int
    kind: str  # user | action | slot | loop
    name: Optional[str] = None  # intent (user), action, slot or loop name (None: loop ended)
    text: str = ""  # customer text (user)
    confidence: Optional[float] = None
    entities: List[Dict[str, Any]] = field(default_factory=list)  # [{"entity", "value"}]
    value: Any = None  # slot value
    bot: List[str] = field(default_factory=list)  # what an action said
    reverted: bool = False  # undone by a later UserUtteranceReverted (fallback) or ActionReverted
    session: int = 0  # conversation session (a story never spans two)
    timestamp: Optional[float] = None

    def as_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)


def _intent(event: Dict[str, Any]) -> tuple:
    parse = event.get("parse_data") or {}
    intent = parse.get("intent") or {}
    return intent.get("name"), intent.get("confidence")


def steps_from_events(events: Sequence[Dict[str, Any]]) -> List[Step]:
    """Tracker events as shown to the trainer and used for the story, in order."""
    steps: List[Step] = []
    session = 0
    for event in events:
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            session += 1
        elif kind == "user":
            name, confidence = _intent(event)
            entities = [{"entity": e.get("entity"), "value": e.get("value")}
                        for e in (event.get("parse_data") or {}).get("entities") or [] if e.get("entity")]
            steps.append(Step(len(steps), "user", name, event.get("text") or "", confidence, entities,
                              session=session, timestamp=event.get("timestamp")))
        elif kind == "action":
            if event.get("name") not in IMPLICIT_ACTIONS:
                steps.append(Step(len(steps), "action", event.get("name"), session=session,
                                  timestamp=event.get("timestamp")))
        elif kind == "bot":
            text = event.get("text") or ""
            last = next((s for s in reversed(steps) if s.kind == "action"), None)
            if last is not None and text:
                last.bot.append(text)
        elif kind == "slot" and event.get("name") not in IMPLICIT_SLOTS:
            steps.append(Step(len(steps), "slot", event.get("name"), value=event.get("value"), session=session,
                              timestamp=event.get("timestamp")))
        elif kind == "active_loop":
            steps.append(Step(len(steps), "loop", event.get("name"), session=session,
                              timestamp=event.get("timestamp")))
        elif kind == "rewind":  # UserUtteranceReverted: back to (and including) the last customer message
            for step in reversed(steps):
                if step.reverted:
                    continue
                step.reverted = True
                if step.kind == "user":
                    break
        elif kind == "undo":  # ActionReverted: the last action and what followed it
            for step in reversed(steps):
                if step.reverted:
                    continue
                step.reverted = True
                if step.kind == "action":
                    break
    return steps


# --- the story ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainInfo:
    """What the builder needs from the domain (built from Rasa's Domain by the caller)."""

    intents: Set[str]
    actions: Set[str]  # custom actions, responses (utter_*) and forms
    forms: Set[str] = frozenset()
    entities: Set[str] = frozenset()
    featurized_slots: Set[str] = frozenset()  # slots with influence_conversation


@dataclass
class Correction:
    conversation_id: str
    step: int  # index of the wrong action, or of the customer message whose reply was wrong
    action: str  # the right next action or response
    intent: Optional[str] = None  # the message's right intent (default: what the bot understood)


def cut(steps: Sequence[Step], step: int) -> List[Step]:
    """The steps the story keeps before the corrected action (same session, not reverted).

    A customer message whose turn was reverted (a fallback) is kept when it is the
    message being corrected: the trainer says how the bot should have answered it.
    """
    if not 0 <= step < len(steps) or steps[step].kind not in ("user", "action"):
        raise Refused("bad_step")
    end = step + 1 if steps[step].kind == "user" else step
    before = list(steps[:end])
    user_at = max((i for i, s in enumerate(before) if s.kind == "user"), default=None)
    if user_at is None:
        raise Refused("bad_step")  # nothing the customer said yet: no story to learn from
    session = steps[step].session
    return [s for i, s in enumerate(before) if s.session == session and (not s.reverted or i == user_at)]


def build_story(steps: Sequence[Step], correction: Correction, domain: DomainInfo, name: str,
                metadata: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The story (Rasa YAML shape as a dict): the conversation up to the wrong step + the right action."""
    if correction.action not in domain.actions:
        raise Refused("unknown_action", action=correction.action)
    kept = cut(steps, correction.step)
    last_user = max(i for i, s in enumerate(kept) if s.kind == "user")
    intent = correction.intent or kept[last_user].name
    if intent not in domain.intents or intent in NOT_CHOOSABLE_INTENTS:
        raise Refused("unknown_intent", intent=intent)
    hidden = loop_turns(kept)
    out: List[Dict[str, Any]] = []
    for i, step in enumerate(kept):
        if i in hidden:
            continue
        if step.kind == "user":
            name_ = intent if i == last_user else step.name
            entry: Dict[str, Any] = {"intent": name_}
            entities = [{e["entity"]: e["value"]} for e in step.entities
                        if e["entity"] in domain.entities and e.get("value") not in (None, "")]
            if entities:
                entry["entities"] = entities
            out.append(entry)
        elif step.kind == "action":
            out.append({"action": step.name})
        elif step.kind == "slot" and step.name in domain.featurized_slots:
            out.append({"slot_was_set": [{step.name: step.value}]})
    out.append({"action": correction.action})
    if correction.action in domain.forms:
        out.append({"active_loop": correction.action})
    story: Dict[str, Any] = {"story": name}
    if metadata:
        story["metadata"] = metadata
    story["steps"] = out
    return story


def loop_turns(kept: Sequence[Step]) -> Set[int]:
    """Positions of the form's own turns: left out of the story, as Rasa's ML policies never see them.

    While a form is active, RulePolicy answers each customer message with the form action
    (the loop's happy path) and marks those turns ``hide_rule_turn``: Memoization and TED
    leave them out of the states they predict from. Kept in a story, they would be learnt
    as history that is never there at prediction time — and with ``active_loop`` steps,
    Rasa's featurizer also keys the story's last action two turns short. So the story keeps
    the form's activation and the actions around it, not the customer's answers to it
    (those teach the NLU), nor the ``active_loop`` events.
    """
    hidden: Set[int] = set()
    active: Optional[str] = None
    for i, step in enumerate(kept):
        if step.kind == "loop":
            hidden.add(i)
            if step.name is None:
                active = None
            else:
                active = step.name
        elif step.kind == "user" and active is not None:
            nxt = next((j for j in range(i + 1, len(kept)) if kept[j].kind in ("user", "action")), None)
            if nxt is not None and kept[nxt].kind == "action" and kept[nxt].name == active:
                hidden.update({i, nxt})
    return hidden


def replaced_action(steps: Sequence[Step], step: int) -> Optional[str]:
    """The action the correction replaces: the marked one, or the first after a marked message."""
    if not 0 <= step < len(steps):
        return None
    if steps[step].kind == "action":
        return steps[step].name
    for later in steps[step + 1:]:
        if later.kind == "user":
            return None
        if later.kind == "action":
            return later.name
    return None


def story_texts(steps: Sequence[Step], step: int) -> List[str]:
    """The customer texts the story is made from (typed text, not button payloads)."""
    return [s.text for s in cut(steps, step) if s.kind == "user" and s.text and not s.text.startswith("/")]


def story_block(story: Dict[str, Any]) -> str:
    """One story as YAML list item text, to append under ``stories:``."""
    return yaml.safe_dump([story], allow_unicode=True, sort_keys=False, default_flow_style=False, width=1000)


def new_file_text() -> str:
    return STORIES_HEADER + 'version: "3.1"\nstories:\n'


def read_stories(path: Path) -> List[Dict[str, Any]]:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    return [s for s in data.get("stories") or [] if isinstance(s, dict)]


def same_steps(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    return a.get("steps") == b.get("steps")


def story_name(conversation_id: str, steps: Sequence[Step], step: int) -> str:
    turn = sum(1 for s in steps[: step + 1] if s.kind == "user")
    return f"reviewed {conversation_id} turn {turn}"


# --- Rasa side (the desk calls these in a thread) ----------------------------------------------


_domains: Dict[tuple, Any] = {}


def _domain(project: Project):
    """Rasa's domain of the project (responses from data files included), cached until a file changes."""
    from kefu.training import accept as accepting

    key = (str(project.root), accepting._signature(project))
    if key not in _domains:
        _domains.clear()
        _domains[key] = project.load_domain()
    return _domains[key]


def domain_info(project: Project) -> DomainInfo:
    domain = _domain(project)
    responses = {r for r in domain.responses if "/" not in r}
    forms = set(domain.form_names)
    return DomainInfo(
        intents=set(domain.intents),
        actions=set(domain.user_actions) | responses | forms,
        forms=forms,
        entities=set(domain.entities),
        featurized_slots={s.name for s in domain.slots if s.influence_conversation},
    )


def action_choices(project: Project) -> List[Dict[str, str]]:
    """The page's action select: responses (with their first text), custom actions, forms."""
    domain = _domain(project)
    info = domain_info(project)
    choices = []
    for name in sorted(info.actions, key=lambda n: (not n.startswith("utter_"), n in info.forms, n)):
        variants = domain.responses.get(name) or []
        label = next((v.get("text") for v in variants if v.get("text")), "") if variants else ""
        if name in info.forms:
            label = "表单"
        choices.append({"name": name, "label": (label or "")[:40]})
    return choices


def intent_choices(project: Project) -> List[str]:
    info = domain_info(project)
    return sorted(i for i in info.intents if i not in NOT_CHOOSABLE_INTENTS and not i.startswith("EXTERNAL"))


def reviewed_stories_file(project: Project) -> Path:
    return project.data / "stories" / "reviewed.yml"


def validate_with_rasa(project: Project, candidate_text: str) -> tuple:
    """``rasa data validate`` (subprocess) on a copy of data/ holding the candidate file."""
    from kefu.training import validate

    target = reviewed_stories_file(project)
    with tempfile.TemporaryDirectory(prefix="kefu-story-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(project.data, data)
        rel = target.relative_to(project.data)
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_text(candidate_text, encoding="utf-8")
        ok, output = validate.rasa_validate(Project.at(project.root, data=data, config=project.config,
                                                       domain=project.domain, holdout=project.holdout))
        if ok:  # Rasa's training refuses stories that contradict a rule: find out now, not at training
            ok, more = rule_check(project, data)
            output += "\n" + more
    # `rasa data validate` exits 0 on warnings; Kefu always has some (unused responses), so
    # --fail-on-warnings is no use. Story conflicts and anything Rasa says about this file fail.
    clean = re.sub(r"\x1b\[[0-9;]*m", "", output)
    if "Story structure conflict" in clean or re.search(r"(UserWarning|ERROR).*stories[/\\]reviewed\.yml", clean):
        ok = False
    return ok, output


def rule_check(project: Project, data: Path) -> tuple:
    """RulePolicy's own contradiction check (what ``rasa train`` runs), in a subprocess."""
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    kefu_root = str(Path(__file__).resolve().parents[2])  # this module, wherever the project is
    env["PYTHONPATH"] = os.pathsep.join([str(project.root), kefu_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.run([sys.executable, "-m", "kefu.training.stories", "check-rules", "--config", str(project.config),
                           "--domain", str(project.domain), "--data", str(data)],
                          cwd=project.root, env=env, capture_output=True, text=True)
    return proc.returncode == 0, proc.stdout + proc.stderr


def _check_rules_main(config: str, domain_path: str, data: str) -> int:
    """Train Rasa's RulePolicy on the data (rules + stories) only to run its contradiction check."""
    import warnings

    warnings.simplefilter("ignore")
    from rasa.core.policies.rule_policy import InvalidRule, RulePolicy
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(config, domain_path, [data])
    domain = importer.get_domain()
    trackers = TrainingDataGenerator(importer.get_stories(), domain, remove_duplicates=True,
                                     augmentation_factor=0).generate()
    settings = next((dict(p) for p in (yaml.safe_load(Path(config).read_text("utf-8")) or {}).get("policies") or []
                     if p.get("name") == "RulePolicy"), {})
    settings.pop("name", None)
    with tempfile.TemporaryDirectory() as tmp:
        policy = RulePolicy.create({**RulePolicy.get_default_config(), **settings}, LocalModelStorage(Path(tmp)),
                                   Resource("kefu_rule_check"), ExecutionContext(GraphSchema({}), "kefu_rule_check"))
        try:
            policy.train(trackers, domain)
        except InvalidRule as error:
            print(f"ERROR {' '.join(str(error).split())}")
            return 1
    print("rules and stories: no contradictions")
    return 0


@dataclass
class Saved:
    status: str  # added | exists
    message: str
    story: Dict[str, Any]
    file: str


def save_correction(project: Project, steps: Sequence[Step], correction: Correction, actor: str,
                    validator=validate_with_rasa, now: Optional[dt.datetime] = None) -> Saved:
    """Check the correction and append its story to data/stories/reviewed.yml (see module doc).

    Raises ``Refused`` (nothing written) when a check fails.
    """
    from kefu import clock
    from kefu.training import accept as accepting

    now = now or clock.now()
    info = domain_info(project)
    held_out = accepting.data_context(project).holdout
    for text in story_texts(steps, correction.step):
        held_out_file = held_out.file_of(text)
        if held_out_file:
            raise Refused("holdout", text=text, file=held_out_file)
    replaced = replaced_action(steps, correction.step)
    metadata = {"conversation": correction.conversation_id, "step": correction.step,
                "replaced_action": replaced, "reviewed_by": actor, "reviewed_at": now.isoformat(timespec="seconds")}
    story = build_story(steps, correction, info, story_name(correction.conversation_id, steps, correction.step),
                        metadata)
    path = reviewed_stories_file(project)
    rel = str(path.relative_to(project.root)) if path.is_relative_to(project.root) else str(path)
    with review_lock("stories", path):
        existing = read_stories(path)
        if any(same_steps(story, s) for s in existing):
            return Saved("exists", MESSAGES["exists"], story, rel)
        names = {str(s.get("story")) for s in existing}
        base, n = story["story"], 2
        while story["story"] in names:  # another correction of the same turn: names stay unique (compare reports by name)
            story["story"], n = f"{base} #{n}", n + 1
        current = path.read_text("utf-8") if path.exists() else new_file_text()
        if not current.endswith("\n"):
            current += "\n"
        candidate = current + story_block(story)
        ok, output = validator(project, candidate)
        if not ok:
            raise Refused("invalid", detail=_rasa_detail(output))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, candidate)
    accepting.record_decision("story", " / ".join(story_texts(steps, correction.step)), correction.intent, actor,
                              project, conversation=correction.conversation_id, step=correction.step,
                              chosen_action=correction.action)
    return Saved("added", MESSAGES["added"], story, rel)


def _rasa_detail(output: str) -> str:
    """What Rasa said against the new story: conflicts and errors first, then warnings about
    the reviewed file; the project-wide notices it always prints only when there is nothing else."""
    serious: List[str] = []
    about_file: List[str] = []
    other: List[str] = []
    lines = re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines()
    for i, line in enumerate(lines):
        if "Story structure conflict" in line:  # the conflict and the stories involved (next lines)
            detail = [line.split(" - ", 1)[-1].strip()] + [x.strip() for x in lines[i + 1:i + 4]
                                                           if x.startswith("  ") and "predicted in" in x]
            serious.append(" ".join(detail))
            continue
        error = re.search(r"\b(ERROR\b.*)", line)
        if error:
            serious.append(error.group(1).strip())
            continue
        warning = re.search(r"UserWarning: (.*)", line)
        if warning and "not used in any" not in line:
            (about_file if "reviewed" in line else other).append(warning.group(1).strip())
    found = list(dict.fromkeys(serious + about_file)) or list(dict.fromkeys(other))
    if not found:
        found = [x for x in lines[-2:] if x.strip()]
    return "；".join(found[:4])[:600]


def reviewed_conversations(project: Project) -> Set[str]:
    """Conversation ids that already have a reviewed story."""
    try:
        stories = read_stories(reviewed_stories_file(project))
    except yaml.YAMLError:
        return set()
    return {str((s.get("metadata") or {}).get("conversation")) for s in stories if s.get("metadata")}


# --- compare: the reviewed stories as test stories ----------------------------------------------


def story_names(path: Path) -> List[str]:
    return [str(s.get("story")) for s in read_stories(path)]


def story_results(stories_file: Path, failed_file: Path) -> List[Dict[str, Any]]:
    """Pass/fail per reviewed story from ``rasa test core``'s failed_test_stories.yml.

    Rasa names a failed story "<story name> (<source file>)"; its steps carry
    ``# predicted: …`` comments, so the names are read line by line.
    """
    failed: List[str] = []
    if failed_file.exists():
        for line in failed_file.read_text("utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("- story:"):
                value = stripped[len("- story:"):].strip()
                if value[:1] in "'\"" and value[-1:] == value[:1]:
                    value = yaml.safe_load(value)
                failed.append(str(value))

    def did_fail(name: str) -> bool:
        return any(f == name or f.startswith(name + " (") for f in failed)

    return [{"story": name, "passed": not did_fail(name)} for name in story_names(stories_file)]


def iter_failed(results: Iterable[Dict[str, Any]]) -> List[str]:
    return [r["story"] for r in results if not r["passed"]]


if __name__ == "__main__":
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m kefu.training.stories")
    parser.add_argument("command", choices=["check-rules"])
    parser.add_argument("--config", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    sys.exit(_check_rules_main(args.config, args.domain, args.data))
