"""`emp model train` and `emp model eval`: the learned signal model from the command line.

torch is imported inside the commands only, so `emp --help` stays fast and works without
the `ml` extra. Errors are EMP errors (one line through `emp`'s main).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from emp.ports.signal_model import SignalModelError

model_app = typer.Typer(
    help=(
        "Train and evaluate the learned signal model: a Mamba-3-style SSD (or the LSTM "
        "baseline) predicting the next bar's return or direction. Needs the `ml` extra "
        "(torch). See docs/model.md."
    ),
    no_args_is_help=True,
)

DEFAULT_CHECKPOINT = Path(".emp") / "models" / "signal.pt"


class Series(StrEnum):
    ar = "ar"
    bars = "bars"


class BackboneChoice(StrEnum):
    ssd = "ssd"
    lstm = "lstm"


class TaskChoice(StrEnum):
    return_ = "return"
    direction = "direction"


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def _torch_ssd():
    """The torch adapter, imported on first use; a one-line error when torch is missing."""
    try:
        import torch

        import emp.adapters.torch_ssd as torch_ssd
    except ImportError as error:
        raise SignalModelError(
            f"the model commands need torch ({error}); install the ml extra: "
            "pip install 'emp-framework[ml]'"
        ) from error
    return torch, torch_ssd


def _series(series: Series, bars: int, seed: int) -> tuple[Any, Any, dict[str, Any]]:
    """(features, next-bar returns, data spec) of the requested series."""
    from emp.adapters.torch_ssd.dataset import (
        bar_features,
        next_bar_targets,
        regime_ar_returns,
        return_features,
    )

    spec = {"series": series.value, "bars": bars, "seed": seed}
    if series is Series.ar:
        returns, _ = regime_ar_returns(bars, seed)
        features = return_features(returns)
    else:
        from emp.adapters.synthetic import RegimeSwitchingBarSource

        source = RegimeSwitchingBarSource(["SYN"], n_bars=bars, seed=seed)
        data = source.load()["SYN"]
        features, returns = bar_features(data.close, data.high, data.low, data.volume)
    features, targets = next_bar_targets(features, returns)
    return features, targets, spec


@model_app.command("train")
def train(
    series: Annotated[
        Series,
        typer.Option(help="ar: regime-switching AR with a slow drift; bars: synthetic bars."),
    ] = Series.ar,
    bars: Annotated[int, typer.Option(min=16, help="Length of the series in bars.")] = 3000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the series.")] = 7,
    backbone: Annotated[BackboneChoice, typer.Option(help="ssd or the lstm baseline.")] = (
        BackboneChoice.ssd
    ),
    task: Annotated[TaskChoice, typer.Option(help="Predict the next return or direction.")] = (
        TaskChoice.return_
    ),
    d_model: Annotated[int, typer.Option(help="Block width.")] = 32,
    layers: Annotated[int, typer.Option(help="Number of blocks.")] = 2,
    head_dim: Annotated[int, typer.Option(help="SSD head width P.")] = 16,
    state_dim: Annotated[int, typer.Option(help="SSD state size N.")] = 16,
    chunk: Annotated[int, typer.Option(help="SSD chunk length Q.")] = 64,
    trapezoidal: Annotated[bool, typer.Option(help="Mamba-3 exponential-trapezoidal update.")] = (
        False
    ),
    rotation: Annotated[bool, typer.Option(help="Mamba-3 data-dependent B/C rotation.")] = False,
    data_dependent_decay: Annotated[
        bool, typer.Option(help="Data-dependent decay A_t = -softplus(.).")
    ] = False,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 10,
    batches_per_epoch: Annotated[int, typer.Option(help="Batches per epoch.")] = 16,
    batch_size: Annotated[int, typer.Option(help="Windows per batch.")] = 16,
    window: Annotated[int, typer.Option(help="Window length in bars.")] = 128,
    lr: Annotated[float, typer.Option(help="AdamW learning rate.")] = 3e-3,
    test_fraction: Annotated[float, typer.Option(help="Held-out share at the end.")] = 0.25,
    train_seed: Annotated[int, typer.Option(min=0, help="Seed of weights and batches.")] = 0,
    threads: Annotated[int, typer.Option(min=1, help="torch CPU threads.")] = 1,
    out: Annotated[Path, typer.Option(help="Checkpoint file to write.")] = DEFAULT_CHECKPOINT,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object.")
    ] = False,
) -> None:
    """Train on the leading bars, score the held-out bars against a naive baseline, save."""
    torch, ts = _torch_ssd()
    torch.set_num_threads(threads)
    net_config = ts.SignalNetConfig(
        n_features=3 if series is Series.bars else 2,
        d_model=d_model,
        n_layers=layers,
        backbone=backbone.value,
        task=task.value,
        head_dim=head_dim,
        state_dim=state_dim,
        chunk=chunk,
        trapezoidal=trapezoidal,
        rotation=rotation,
        data_dependent_decay=data_dependent_decay,
    )
    train_config = ts.TrainConfig(
        epochs=epochs,
        batches_per_epoch=batches_per_epoch,
        batch_size=batch_size,
        window=window,
        learning_rate=lr,
        test_fraction=test_fraction,
        seed=train_seed,
    )
    features, targets, spec = _series(series, bars, seed)
    with Progress(
        TextColumn(f"[bold]emp model train[/] {backbone.value}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("batches · loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        disable=not progress,
    ) as bar:
        task_id = bar.add_task("train", total=None, loss="-")

        def on_progress(done: int, total: int, loss: float) -> None:
            bar.update(task_id, completed=done, total=total, loss=f"{loss:.4f}")

        result = ts.train_signal_net(
            net_config, train_config, features, targets, on_progress=on_progress
        )
    path = ts.save_checkpoint(
        out,
        result.net,
        train_config=train_config,
        normalization=result.normalization,
        data_hash=result.data_hash,
        data_spec=spec,
        metrics=result.metrics,
    )
    payload = {
        "checkpoint": str(path),
        "backbone": backbone.value,
        "task": task.value,
        "parameters": sum(p.numel() for p in result.net.parameters()),
        "data_hash": result.data_hash,
        "final_loss": result.losses[-1],
        **spec,
        **result.metrics,
    }
    _report(payload, json_output, f"trained {backbone.value} ({task.value})")


@model_app.command("eval")
def evaluate(
    checkpoint: Annotated[Path, typer.Option(help="Checkpoint from `emp model train`.")] = (
        DEFAULT_CHECKPOINT
    ),
    series: Annotated[
        Series | None, typer.Option(help="Series to score [the training series].")
    ] = None,
    bars: Annotated[int | None, typer.Option(min=16, help="Length [as trained].")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Series seed [as trained].")] = None,
    threads: Annotated[int, typer.Option(min=1, help="torch CPU threads.")] = 1,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object.")
    ] = False,
) -> None:
    """Score a checkpoint on the held-out end of a series (the training one by default)."""
    torch, ts = _torch_ssd()
    torch.set_num_threads(threads)
    loaded = ts.load_checkpoint(checkpoint)
    spec = loaded.data_spec
    chosen = Series(series.value if series is not None else spec.get("series", "ar"))
    features, targets, new_spec = _series(
        chosen,
        bars if bars is not None else int(spec.get("bars", 3000)),
        seed if seed is not None else int(spec.get("seed", 7)),
    )
    if features.shape[1] != loaded.net_config.n_features:
        raise SignalModelError(
            f"the checkpoint expects {loaded.net_config.n_features} features, the "
            f"{chosen.value} series has {features.shape[1]}; use --series "
            f"{spec.get('series', 'ar')}"
        )
    from emp.adapters.torch_ssd.dataset import data_hash
    from emp.adapters.torch_ssd.trainer import split_point

    n_train = split_point(len(targets), loaded.train_config.test_fraction)
    metrics = ts.evaluate(loaded.net, loaded.normalization, features, targets, n_train)
    digest = data_hash(features, targets)
    payload = {
        "checkpoint": str(checkpoint),
        "backbone": loaded.net_config.backbone,
        "task": loaded.net_config.task,
        "data_hash": digest,
        "same_data_as_training": digest == loaded.data_hash,
        **new_spec,
        **metrics,
    }
    _report(payload, json_output, f"evaluated {loaded.net_config.backbone}")


def _report(payload: dict[str, Any], json_output: bool, title: str) -> None:
    if json_output:
        print(json.dumps(payload, sort_keys=True))
        return
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in payload.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    _console().print(table)
