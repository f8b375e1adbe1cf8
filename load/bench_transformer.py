"""What does a bert-base-sized toxicity model cost on this machine's CPU?

Builds a *randomly initialised* BertForSequenceClassification with bert-base's
shape (hidden 768, 12 layers, 12 heads, 6 labels: Detoxify 'original') so no
download is needed: speed depends on the shape, not on the weight values.
Measures fp32 and dynamic-int8 (nn.Linear) at several batch sizes on
fixed-length messages and prints medians, so the moderation engine's batch
size and the "quantize" default rest on numbers rather than guesses.

    python load/bench_transformer.py --repetitions 5 --threads 2

Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import time
import warnings
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    mode: str
    batch_size: int
    msgs_per_s: float  # median over rounds
    p50_ms: float  # per-batch latency
    p99_ms: float


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repetitions", type=int, default=5, help="timed rounds per configuration")
    p.add_argument(
        "--messages-per-round",
        type=int,
        default=64,
        help="each round scores at least this many messages (>= one batch)",
    )
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--batch-sizes", default="1,8,32,64")
    p.add_argument("--seq-len", type=int, default=32, help="tokens per message, incl. [CLS]/[SEP]")
    p.add_argument("--modes", default="fp32,int8")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def build_model(seed: int) -> Any:
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        vocab_size=30522,
        max_position_embeddings=512,
    )
    config.num_labels = 6
    model: Any = BertForSequenceClassification(config)
    return model.eval()


def quantize(model: Any) -> Any:
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        # torch 2.13 deprecates torch.ao.quantization (moving to torchao) but still ships it.
        warnings.simplefilter("ignore")
        return quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)


def make_batch(batch_size: int, seq_len: int, seed: int) -> dict[str, Any]:
    """Random word-piece ids framed by [CLS]/[SEP]: same cost as real 32-token messages."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 30000, (batch_size, seq_len), generator=gen)
    ids[:, 0], ids[:, -1] = 101, 102
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}


def measure(model: Any, mode: str, batch_size: int, args: argparse.Namespace) -> Result:
    import torch

    batch = make_batch(batch_size, args.seq_len, args.seed)
    batches_per_round = max(1, args.messages_per_round // batch_size)
    latencies: list[float] = []
    rates: list[float] = []
    with torch.inference_mode():
        for _ in range(2):  # warm-up: first calls allocate and pick kernels
            model(**batch)
        for _ in range(args.repetitions):
            round_start = time.perf_counter()
            for _ in range(batches_per_round):
                start = time.perf_counter()
                model(**batch)
                latencies.append(time.perf_counter() - start)
            rates.append(batches_per_round * batch_size / (time.perf_counter() - round_start))
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    return Result(mode, batch_size, statistics.median(rates), statistics.median(latencies) * 1000, p99 * 1000)


def agreement(fp32: Any, int8: Any, seq_len: int) -> float:
    """Max |sigmoid difference| between fp32 and int8 on one batch: quantization's error."""
    import torch

    batch = make_batch(16, seq_len, seed=123)
    with torch.inference_mode():
        a = torch.sigmoid(fp32(**batch).logits)
        b = torch.sigmoid(int8(**batch).logits)
    return float((a - b).abs().max())


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import torch
    import transformers

    torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    modes = [m.strip() for m in args.modes.split(",")]
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
        f"quantized engine {torch.backends.quantized.engine}"
    )
    started = time.perf_counter()
    fp32 = build_model(args.seed)
    params = sum(p.numel() for p in fp32.parameters())
    print(f"bert-base-shaped model: {params / 1e6:.1f} M parameters, built in {time.perf_counter() - started:.1f} s")
    models: dict[str, Any] = {"fp32": fp32}
    if "int8" in modes:
        started = time.perf_counter()
        models["int8"] = quantize(fp32)
        print(
            f"dynamic int8 quantization: {time.perf_counter() - started:.1f} s, "
            f"max |score diff| vs fp32 = {agreement(fp32, models['int8'], args.seq_len):.4f}"
        )
    print(
        f"{args.seq_len}-token messages, {args.repetitions} rounds of >= {args.messages_per_round} "
        "messages per configuration; msg/s is the median over rounds, latency is per batch\n"
    )
    print(f"{'mode':<6}{'batch':>6}{'msg/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for mode in modes:
        for size in sizes:
            r = measure(models[mode], mode, size, args)
            print(f"{r.mode:<6}{r.batch_size:>6}{r.msgs_per_s:>10.1f}{r.p50_ms:>10.1f}{r.p99_ms:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
