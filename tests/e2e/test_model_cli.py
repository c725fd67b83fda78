"""`emp model train` / `emp model eval` end to end: the installed script in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
EMP = BIN / "emp"
TINY = (
    "--bars", "300", "--d-model", "8", "--layers", "1", "--head-dim", "4", "--state-dim", "4",
    "--epochs", "2", "--batches-per-epoch", "3", "--batch-size", "4", "--window", "32",
)  # fmt: skip


def emp(*args: str, cwd: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    return subprocess.run(
        [str(EMP), *args], cwd=cwd, env=environment, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def last_json(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_one_line_error(result: subprocess.CompletedProcess, kind: str, fragment: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {kind}: ") and fragment in lines[0], lines[0]


class TestHelp:
    def test_the_model_commands_are_listed(self, tmp_path):
        assert "model" in emp("--help", cwd=tmp_path).stdout
        result = emp("model", "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "train" in result.stdout and "eval" in result.stdout

    def test_the_cli_modules_import_without_torch(self, tmp_path):
        code = "import sys, emp.app.cli, emp.app.model_commands; print('torch' in sys.modules)"
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert result.stdout.strip() == "False", result.stderr


class TestTrainAndEval:
    def test_train_writes_a_checkpoint_that_eval_scores_identically(self, tmp_path):
        trained = emp("model", "train", *TINY, "--out", "m.pt", "--json", cwd=tmp_path)
        summary = last_json(trained)
        assert (tmp_path / "m.pt").is_file()
        assert summary["backbone"] == "ssd" and summary["n_train"] + summary["n_test"] == 299
        assert {"mse", "naive_mse", "mse_ratio", "beats_naive", "data_hash"} <= set(summary)
        assert "batches" in trained.stderr  # the progress bar
        scored = last_json(emp("model", "eval", "--checkpoint", "m.pt", "--json", cwd=tmp_path))
        assert scored["same_data_as_training"] is True
        assert scored["data_hash"] == summary["data_hash"]
        assert scored["mse"] == summary["mse"]

    def test_eval_on_another_seed_says_the_data_differs(self, tmp_path):
        last_json(emp("model", "train", *TINY, "--no-progress", "--json", cwd=tmp_path))
        assert (tmp_path / ".emp" / "models" / "signal.pt").is_file()  # the default path
        scored = last_json(emp("model", "eval", "--seed", "99", "--json", cwd=tmp_path))
        assert scored["same_data_as_training"] is False and scored["seed"] == 99

    def test_the_lstm_baseline_trains_on_synthetic_bars_for_direction(self, tmp_path):
        result = emp(
            "model", "train", *TINY, "--backbone", "lstm", "--series", "bars",
            "--task", "direction", "--no-progress", "--out", "l.pt", cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "log_loss" in result.stdout and "lstm" in result.stdout


class TestErrors:
    def test_a_missing_checkpoint_is_one_line(self, tmp_path):
        result = emp("model", "eval", "--checkpoint", "absent.pt", cwd=tmp_path)
        assert_one_line_error(result, "CheckpointError", "no checkpoint at absent.pt")

    def test_an_indivisible_width_is_one_line_suggesting_values(self, tmp_path):
        result = emp("model", "train", "--d-model", "30", "--head-dim", "16", cwd=tmp_path)
        assert_one_line_error(result, "InvalidModelConfig", "use a head_dim in")

    def test_an_unknown_backbone_is_a_usage_error(self, tmp_path):
        result = emp("model", "train", "--backbone", "gru", cwd=tmp_path)
        assert result.returncode == 2
