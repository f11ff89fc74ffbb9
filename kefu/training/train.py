"""Train a Rasa model with visible progress and a recorded duration."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from kefu import settings
from kefu.training import fingerprint


def rasa_train_args(out: Path, finetune: bool, force: bool, project=None, epoch_fraction: float = 0.3) -> list:
    """``project``: a kefu.training.project.Project (default: this repository)."""
    root = settings.repo_root()
    config, domain, data = (
        (project.config, project.domain, project.data) if project is not None
        else (root / "config.yml", root / "domain.yml", root / "data")
    )
    args = [
        sys.executable, "-m", "rasa", "train",
        "--config", str(config),
        "--domain", str(domain),
        "--data", str(data),
        "--out", str(out),
    ]
    if finetune:
        # Fine-tunes the latest model in `out` (Rasa's default) with a fraction of the epochs.
        args += ["--finetune", "--epoch-fraction", str(epoch_fraction)]
    if force:
        args.append("--force")
    return args


def train(finetune: bool = False, force: bool = False, out: Path | None = None) -> Path | None:
    """Run `rasa train` unless `out` already holds a model trained from the current inputs."""
    root = settings.repo_root()
    out = out or root / "models"
    digest = fingerprint.inputs_hash(root)
    existing = fingerprint.model_for_inputs(out, digest)
    if existing is not None and not (force or finetune):
        print(f"model up to date: {existing.name} was trained from the current data and config", flush=True)
        return None
    subprocess.run([sys.executable, "-m", "kefu.nlp.build"], cwd=root, check=True)
    before = {p.name for p in out.glob("*.tar.gz")}
    started = time.monotonic()
    print("training (progress bars below; ~5 min on 2 cores, skipped when nothing changed)…", flush=True)
    proc = subprocess.run(rasa_train_args(out, finetune, force), cwd=root)
    if proc.returncode != 0:
        sys.exit(proc.returncode)
    seconds = time.monotonic() - started
    new = sorted((p for p in out.glob("*.tar.gz") if p.name not in before), key=lambda p: p.stat().st_mtime)
    if new:
        fingerprint.record(new[-1], digest)
        record = {"model": new[-1].name, "seconds": round(seconds, 1), "finetune": finetune}
        log = settings.var_dir() / "training-times.jsonl"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        print(f"trained {new[-1].name} in {seconds:.0f} s", flush=True)
        return new[-1]
    print(f"model up to date ({seconds:.0f} s)", flush=True)
    return None
