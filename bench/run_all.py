"""Run the benchmark suite: MLP, CNN, RNN, LSTM, GRU, ResNet and Transformer
training steps in Zen, in PyTorch (when installed) and, for the first five,
in hand-written numpy, and print one table.

    python bench/run_all.py                 # check the references, then time
    python bench/run_all.py --check         # only the correctness check
    python bench/run_all.py --workloads mlp,rnn --rounds 9 --json out.json
    python bench/bench_cnn.py               # one workload (same options)

Never run it beside tests or other jobs: refused windows will say so.
See bench/README.md for what each figure means.
"""
import argparse
import json
import os
import sys

import blas_time
from common import VERSIONS, benchmark
from report import OPENBLAS_TUNING, check, header, memory_table, notes, table

WORKLOADS = {"mlp": "bench_mlp", "cnn": "bench_cnn", "rnn": "bench_rnn", "lstm": "bench_lstm",
             "gru": "bench_gru", "resnet": "bench_resnet", "transformer": "bench_transformer"}


def parse(argv, default_workloads):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", default=",".join(default_workloads),
                        help="comma-separated, from: " + ", ".join(WORKLOADS))
    parser.add_argument("--versions", default=",".join(VERSIONS),
                        help="comma-separated, from: " + ", ".join(VERSIONS))
    parser.add_argument("--check", action="store_true",
                        help="only compare one short training run of each version with Zen's")
    parser.add_argument("--no-check", action="store_true", help="time without checking first")
    parser.add_argument("--check-steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--window", type=float, default=1.0,
                        help="seconds per timed window, per version (default 1.0)")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per window (default: as many as fill --window)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up steps (default 5)")
    parser.add_argument("--max-foreign-load", type=float, default=0.10,
                        help="refuse a window when other processes used more than this many "
                             "cores on average during it (default 0.10)")
    parser.add_argument("--retries", type=int, default=3,
                        help="retries of a refused window before its round is dropped")
    parser.add_argument("--retry-wait", type=float, default=2.0, help="seconds before a retry")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write every figure to PATH")
    parser.add_argument("--unset-openblas-env", action="store_true",
                        help="re-run without " + " and ".join(OPENBLAS_TUNING))
    options = parser.parse_args(argv)
    options.workloads = _names(parser, "--workloads", options.workloads, WORKLOADS)
    options.versions = _names(parser, "--versions", options.versions, VERSIONS)
    if options.check and options.no_check:
        parser.error("--check and --no-check exclude each other")
    if "zen" not in options.versions:
        parser.error("--versions must include zen: every figure is compared with it")
    if options.rounds < 1 or options.window <= 0 or options.warmup < 0 or options.retries < 0:
        parser.error("--rounds must be >= 1, --window > 0, --warmup and --retries >= 0")
    return options


def _names(parser, flag, text, known):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        parser.error(f"{flag}: unknown {unknown or 'empty list'}; choose from {', '.join(known)}")
    return names


def _unset_openblas_env():
    """Re-execute this command without the OpenBLAS tuning variables (the
    worker processes inherit the environment); returns the names unset."""
    present = [k for k in OPENBLAS_TUNING if k in os.environ]
    if present:
        env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_TUNING}
        env["ZEN_BENCH_UNSET"] = ",".join(present)
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    return [k for k in os.environ.get("ZEN_BENCH_UNSET", "").split(",") if k]


def _blas_shim():
    """(path of the compiled BLAS-time shim, None), or (None, why not)."""
    try:
        return blas_time.build(), None
    except blas_time.NotMeasured as why:
        return None, str(why)


def log(message):
    print(message, file=sys.stderr, flush=True)


def main(default_modules=None, argv=None):
    """Check and time `default_modules` (module names), or the --workloads asked."""
    default = [n for n, m in WORKLOADS.items() if m in (default_modules or WORKLOADS.values())]
    options = parse(sys.argv[1:] if argv is None else argv, default)
    unset = _unset_openblas_env() if options.unset_openblas_env else []
    options.blas_library, options.blas_missing = _blas_shim()
    print(header(options, unset), flush=True)
    failed, results = [], []
    for name in options.workloads:
        module_name = WORKLOADS[name]
        log(f"{name}:")
        if not options.no_check and not check(module_name, options, log):
            failed.append(name)
            continue
        if options.check:
            continue
        module = __import__(module_name)
        result = benchmark(module_name, options, log)
        result.update(name=name, title=module.TITLE)
        results.append(result)
    if results:
        print("\n" + table(results) + "\n\n" + memory_table(results))
        extra = notes(results)
        if extra:
            print("\n" + extra)
    if options.json:
        with open(options.json, "w") as file:
            json.dump({"options": vars(options), "results": results, "check_failed": failed,
                       "openblas_unset": unset}, file, indent=1)
    if failed:
        print(f"\ncheck FAILED for {', '.join(failed)}: the numpy/torch reference does not "
              f"match Zen (not timed)")
        sys.exit(1)
    if options.check:
        print("check passed: every reference matches Zen")
    unclean = [r["name"] for r in results if r["clean"] == 0]
    if unclean:
        print(f"\nno clean round for {', '.join(unclean)}: other processes kept the machine "
              f"busy; rerun on an idle machine (never beside tests)")
        sys.exit(3)


if __name__ == "__main__":
    main()
