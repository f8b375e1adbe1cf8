"""How deep the sentence encoder must run: validation AUCs and msg/s per number of MiniLM layers.

    python load/bench_depth.py [--layers 1,2,3,4,5,6] [--seconds 3] [--runs 3] [--cache DIR]

For each depth k, (a) ``safestream.moderation.train.train`` fits fp32 heads on
the vectors of the encoder's first k layers (the real training code: same
data, split and seed as the committed artifact; written to a temp file) and
prints its validation ROC AUCs, and (b) the ONNX Runtime encoder of that depth
(fp32 and int8, one intra-op thread, texts alone as the stage runs int8) scores
chat-length lines: msg/s, the median of ``--runs`` passes, cells interleaved.

Prints figures; it is not a test. The choice it informs is ``DEFAULT_LAYERS``
in ``safestream/moderation/encoder.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sentence import chat_lines

AUC_COLUMNS = (
    "toxicity",
    "identity_attack",
    "obscene",
    "insult",
    "threat",
    "toxic_overall_max",
    "toxic_davidson",
    "toxic_toxigen",
    "toxic_own",
)


def qualities(depths: list[int], cache: Path | None) -> None:
    from safestream.moderation.train import train

    print("validation ROC AUC of fp32 heads per encoder depth (train.py's data, split and seed):")
    print("  layers " + "".join(f"{c[:16]:>17}" for c in AUC_COLUMNS) + "   secs")
    with tempfile.TemporaryDirectory() as tmp:
        for k in depths:
            started = time.perf_counter()
            _, report = train(out=Path(tmp) / f"heads-{k}.json", variants=("fp32",), layers=k, cache=cache)
            aucs = report["auc"]["fp32"]
            row = "".join(f"{aucs[c]:>17.4f}" for c in AUC_COLUMNS)
            print(f"  {k:>6} {row}  {time.perf_counter() - started:5.0f}", flush=True)


def speeds(depths: list[int], seconds: float, runs: int) -> None:
    from safestream.moderation.encoder import model_dir
    from safestream.moderation.encoder_onnx import OnnxEncoder

    lines = chat_lines(400)
    cells = {(k, int8): OnnxEncoder(model_dir(), int8=int8, layers=k) for k in depths for int8 in (False, True)}
    rates: dict[tuple[int, bool], list[float]] = {cell: [] for cell in cells}
    for _ in range(runs):
        for cell, encoder in cells.items():
            encoder.embed(lines[:8], max_tokens=64)  # warm
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                for line in lines:
                    encoder.embed([line], max_tokens=64)
                    done += 1
            rates[cell].append(done / (time.perf_counter() - started))
    print(f"ONNX Runtime, one text at a time, 1 thread, 5-30 word lines (msg/s, median of {runs}):")
    print("  layers      fp32      int8")
    for k in depths:
        fp32, int8 = (statistics.median(rates[(k, q)]) for q in (False, True))
        print(f"  {k:>6} {fp32:>9.0f} {int8:>9.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", default="1,2,3,4,5,6", help="comma-separated depths (1-6)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", help="keep embeddings between runs (train.py's --cache)")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    depths = [int(v) for v in args.layers.split(",") if v.strip()]
    if not args.skip_speed:
        speeds(depths, args.seconds, args.runs)
    if not args.skip_quality:
        qualities(depths, Path(args.cache) if args.cache else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
