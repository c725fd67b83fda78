"""Benchmark of the SSD signal model: chunked vs naive, SSD block vs LSTM, streaming step.

    python benchmarks/ssd.py [--json] [--device cpu|cuda] [--threads 1] [--length 1024]

Configuration (issue 8): batch 8, d_model 256, 4 heads x 64, state 64, chunk 64, float32,
one CPU thread by default. Figures:

* ``chunked_vs_naive_fwd`` / ``_fwdbwd``: time of the SSD recurrence by the step loop
  divided by its time by chunks (same inputs, length ``--length``), forward only and
  forward + backward. Both run the same function ``ssd_*(x, dt, A, B, C, state)`` that the
  mixer calls; the projections around it are shared and not timed.
* ``block_vs_lstm_fwd_L1024``: forward time of the LSTM block of matched parameter count
  divided by the SSD block's (both residual + RMSNorm drop-in blocks, inference mode).
  Above 1 the SSD block is faster. The SSD block runs its default ``method="auto"``: on
  CPU in inference that is the compiled scan (``ssd_forward_path`` says which ran);
  ``block_vs_lstm_fwd_L1024_chunked`` is the same ratio with the chunked form forced (the
  path that training and CUDA take).
* ``stream_step_us_p50``: median microseconds of one ``SSDBlock.step`` at batch 1 in
  inference mode (``lstm_step_us_p50`` the same for the LSTM block). On CPU that step is
  the fused numba kernel (``stream_step_path`` says which path ran);
  ``stream_step_general_us_p50`` times the eager-torch step (the path CUDA and autograd
  take) for comparison, and ``stream_step_all_options_us_p50`` the fused step with the
  three Mamba-3 options on.

With ``--json`` the last line is one JSON object with these keys and the raw timings.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

import torch

from emp.adapters.torch_ssd.blocks import LSTMBlock, SSDBlock
from emp.adapters.torch_ssd.config import SSDConfig
from emp.adapters.torch_ssd.ssd_core import ssd_chunked, ssd_naive, zero_state

MAMBA3_OPTIONS = {"trapezoidal": True, "rotation": True, "data_dependent_decay": True}
TARGETS = {
    "chunked_vs_naive_fwd": (">=", 5.0),
    "chunked_vs_naive_fwdbwd": (">=", 20.0),
    "block_vs_lstm_fwd_L1024": (">=", 0.5),
    "stream_step_us_p50": ("<", 50.0),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=1024, help="sequence length")
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--steps", type=int, default=2000, help="timed streaming steps")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per figure")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    fn()  # warm-up (allocations, kernel selection)
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def step_p50_us(
    step: Callable[[torch.Tensor, object], tuple[torch.Tensor, object]],
    state: object,
    d_model: int,
    device: torch.device,
    steps: int,
) -> float:
    """Median microseconds of ``step(x_t, state)`` at batch 1 (200 warm-up steps first)."""
    g = torch.Generator().manual_seed(1)
    xs = torch.randn(steps + 200, 1, d_model, generator=g).to(device)
    times = []
    with torch.inference_mode():
        for i in range(steps + 200):
            start = time.perf_counter()
            _, state = step(xs[i], state)
            synchronize(device)
            if i >= 200:
                times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def core_inputs(config: SSDConfig, batch: int, length: int, device: torch.device, seed: int):
    g = torch.Generator().manual_seed(seed)
    h, p, n, grp = config.heads, config.head_dim, config.state_dim, config.n_groups
    inputs = {
        "x": torch.randn(batch, length, h, p, generator=g),
        "dt": torch.nn.functional.softplus(torch.randn(batch, length, h, generator=g) - 3),
        "A": -torch.rand(h, generator=g) - 0.5,
        "B": torch.randn(batch, length, grp, n, generator=g),
        "C": torch.randn(batch, length, grp, n, generator=g),
    }
    inputs = {k: v.to(device) for k, v in inputs.items()}
    state = zero_state(batch, h, p, grp, n, trapezoidal=False, dtype=torch.float32, device=device)
    return inputs, state


def run(args: argparse.Namespace) -> dict[str, object]:
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda but torch sees no CUDA device")
    config = SSDConfig(d_model=args.d_model, head_dim=64, state_dim=64, chunk=64)
    results: dict[str, object] = {}

    inputs, state = core_inputs(config, args.batch, args.length, device, args.seed)
    with torch.inference_mode():
        chunked = median_seconds(
            lambda: ssd_chunked(**inputs, state=state, chunk=64), device, args.repeats
        )
        naive = median_seconds(
            lambda: ssd_naive(**inputs, state=state), device, max(1, args.repeats // 2)
        )
    results |= {"core_fwd_chunked_s": chunked, "core_fwd_naive_s": naive}
    results["chunked_vs_naive_fwd"] = naive / chunked

    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}

    def fwdbwd(core: Callable, **kwargs: int) -> Callable[[], None]:
        def go() -> None:
            for leaf in leaves.values():
                leaf.grad = None
            y, _ = core(**leaves, state=state, **kwargs)
            y.sum().backward()

        return go

    chunked = median_seconds(fwdbwd(ssd_chunked, chunk=64), device, args.repeats)
    naive = median_seconds(fwdbwd(ssd_naive), device, max(1, args.repeats // 2))
    results |= {"core_fwdbwd_chunked_s": chunked, "core_fwdbwd_naive_s": naive}
    results["chunked_vs_naive_fwdbwd"] = naive / chunked

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        ssd = SSDBlock(config).to(device).eval()
        lstm = LSTMBlock.matching(config).to(device).eval()
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch, 1024, args.d_model, generator=g).to(device)
    with torch.inference_mode():
        t_ssd = median_seconds(lambda: ssd(x), device, args.repeats)
        t_chunked = median_seconds(lambda: ssd.stream(x, method="chunked"), device, args.repeats)
        t_lstm = median_seconds(lambda: lstm(x), device, args.repeats)
    results |= {
        "ssd_block_fwd_L1024_s": t_ssd,
        "ssd_block_fwd_L1024_chunked_s": t_chunked,
        "lstm_block_fwd_L1024_s": t_lstm,
        "block_vs_lstm_fwd_L1024": t_lstm / t_ssd,
        "block_vs_lstm_fwd_L1024_chunked": t_lstm / t_chunked,
        "ssd_forward_path": "scan" if ssd.mixer._fused is not None else "chunked",
        "ssd_block_parameters": sum(p.numel() for p in ssd.parameters()),
        "lstm_block_parameters": sum(p.numel() for p in lstm.parameters()),
        "lstm_hidden": lstm.hidden,
    }

    steps = args.steps
    results["stream_step_us_p50"] = step_p50_us(
        ssd.step, ssd.initial_state(1), args.d_model, device, steps
    )
    results["stream_step_path"] = "fused" if ssd._fused is not None else "general"
    results["stream_step_general_us_p50"] = step_p50_us(
        ssd.general_step, ssd.initial_state(1), args.d_model, device, steps
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        options = SSDConfig(**{**config.to_dict(), **MAMBA3_OPTIONS})
        ssd_options = SSDBlock(options).to(device).eval()
    results["stream_step_all_options_us_p50"] = step_p50_us(
        ssd_options.step, ssd_options.initial_state(1), args.d_model, device, steps
    )
    results["lstm_step_us_p50"] = step_p50_us(
        lstm.step, lstm.initial_state(1), args.d_model, device, steps
    )
    results |= {
        "device": args.device,
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else (platform.processor() or platform.machine()),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "batch": args.batch,
        "length": args.length,
        "d_model": args.d_model,
        "heads": config.heads,
        "head_dim": config.head_dim,
        "state_dim": config.state_dim,
        "chunk": config.chunk,
        "dtype": "float32",
    }
    return results


def print_table(results: dict[str, object]) -> None:
    print(
        f"SSD benchmark on {results['device']} ({results['device_name']}), "
        f"{results['threads']} thread(s), torch {results['torch']}, batch {results['batch']}, "
        f"d_model {results['d_model']}, {results['heads']} heads x {results['head_dim']}, "
        f"state {results['state_dim']}, chunk {results['chunk']}, length {results['length']}"
    )
    print(f"{'figure':<28} {'value':>10}  {'target':>8}  met")
    for key, (op, target) in TARGETS.items():
        value = float(results[key])
        met = value >= target if op == ">=" else value < target
        print(f"{key:<28} {value:>10.2f}  {op + ' ' + str(target):>8}  {'yes' if met else 'NO'}")
    print(f"  (block forward: {results['ssd_forward_path']}, step: {results['stream_step_path']})")
    for key in (
        "block_vs_lstm_fwd_L1024_chunked", "stream_step_general_us_p50",
        "stream_step_all_options_us_p50", "lstm_step_us_p50",
    ):  # fmt: skip
        print(f"{key:<32} {float(results[key]):>6.2f}")
    for key in (
        "core_fwd_chunked_s", "core_fwd_naive_s", "core_fwdbwd_chunked_s", "core_fwdbwd_naive_s",
        "ssd_block_fwd_L1024_s", "ssd_block_fwd_L1024_chunked_s", "lstm_block_fwd_L1024_s",
    ):  # fmt: skip
        print(f"{key:<28} {float(results[key]) * 1e3:>10.2f}  ms")
    print(
        f"parameters: SSD block {results['ssd_block_parameters']}, LSTM block "
        f"{results['lstm_block_parameters']} (hidden {results['lstm_hidden']})"
    )


def main() -> None:
    args = parse_args()
    results = run(args)
    print_table(results)
    if args.json:
        print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
