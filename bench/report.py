"""The benchmark's printed output: the environment header, the results table,
the memory table, and the correctness check of the numpy references."""
import importlib
import os
import platform
import statistics

import numpy as np

from common import BLAS_TIMED, VERSIONS, Unavailable, build, median_blas_share, median_ms
from machine import cpu_count, openblas_runtime

OPENBLAS_TUNING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def header(options, unset):
    """Where the figures come from: machine, numpy, BLAS environment, rules."""
    blas = {k: v for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS")}
    lines = [f"machine: {cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
             f"python {platform.python_version()}, numpy {np.__version__}",
             "OPENBLAS env: " + (", ".join(f"{k}={v}" for k, v in blas.items()) or "none set")
             + f"; OpenBLAS runs its {openblas_runtime()}"]
    if unset:
        lines.append("  (--unset-openblas-env: re-executed without " + ", ".join(unset) + ")")
    lines.append(f"BLAS time: {options.blas_library} preloaded into the "
                 f"{'/'.join(BLAS_TIMED)} workers" if options.blas_library
                 else f"BLAS time: n/a ({options.blas_missing})")
    if "torch" in options.versions:
        lines.append(f"torch.set_num_threads({options.torch_threads})")
    lines.append(f"each version in its own process; {options.rounds} rounds alternating "
                 f"{'/'.join(options.versions)}, ~{options.window:g} s windows after "
                 f"{options.warmup} warm-up steps; a window is refused when other processes "
                 f"use more than {options.max_foreign_load:.0%} of a core")
    return "\n".join(lines)


# ----- the results table ------------------------------------------------------------
def _cell(result, version):
    entry = result["versions"].get(version)
    if entry is None:
        return "-"
    if entry["status"] == "unavailable":
        return "n/a"
    if entry["status"] == "error":
        return "error"
    if not entry["times"]:
        load = statistics.median(result["refused"]) if result["refused"] else float("nan")
        return f"refused: foreign load {load:.0%}"
    return f"{median_ms(entry):.3f}"


def _ratio(result, version):
    """zen / version, from the medians of the same clean rounds (else blank)."""
    zen, other = (result["versions"].get(v) for v in ("zen", version))
    if not zen or not other or not zen.get("times") or not other.get("times"):
        return "-"
    return f"{median_ms(zen) / median_ms(other):.2f}x"


def _peak(result):
    peaks = []
    for version in VERSIONS:
        entry = result["versions"].get(version, {})
        peaks.append(f"{entry['memory']['end']['peak']:.0f}" if "end" in entry.get("memory", {})
                     else "-")
    return "/".join(peaks)


def _blas_shares(result):
    """Median % of the step's wall time inside BLAS calls, per BLAS_TIMED version."""
    shares = []
    for version in BLAS_TIMED:
        entry = result["versions"].get(version, {})
        share = median_blas_share(entry)
        if share is not None:
            shares.append(f"{share * 100:.0f}")
        else:
            shares.append("n/a" if entry.get("blas_missing") else "-")
    return "n/a" if set(shares) == {"n/a"} else "/".join(shares)


def table(results):
    rows = [("workload", "zen ms", "numpy ms", "torch ms", "zen/numpy", "zen/torch",
             "BLAS % zen/np", "peak RSS MiB zen/np/torch", "clean rounds")]
    for result in results:
        rows.append((result["title"], *(_cell(result, v) for v in VERSIONS),
                     _ratio(result, "numpy"), _ratio(result, "torch"), _blas_shares(result),
                     _peak(result), f"{result['clean']}/{result['rounds']}"))
    return _format(rows, "median milliseconds per training step")


def memory_table(results):
    """Per version: RSS when the worker started (interpreter + numpy), after
    building (framework, model, data), the peak, and the growth of RSS over
    the timed rounds (from after warm-up to the end): a leak shows there."""
    rows = [("workload", "version", "start", "built", "peak", "growth in timed rounds")]
    for result in results:
        for version, entry in result["versions"].items():
            memory = entry.get("memory", {})
            if "end" not in memory:
                continue
            rows.append((result["name"], version, f"{memory['start']:.1f}",
                         f"{memory['ready']:.1f}", f"{memory['end']['peak']:.1f}",
                         f"{memory['end']['rss'] - memory['warm']:+.1f}"))
    return _format(rows, "memory, MiB (VmRSS / VmHWM of each version's own process)")


def _format(rows, title):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = [title]
    for number, row in enumerate(rows):
        lines.append(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if number == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def notes(results):
    """One line per version that did not run, and per reason BLAS time was
    not measured, saying why."""
    lines, blas = [], []
    for result in results:
        for version, entry in result["versions"].items():
            if entry["status"] != "ok":
                lines.append(f"{result['name']} {version}: {entry['status']}: {entry['message']}")
            elif entry.get("blas_missing"):
                blas.append(f"BLAS % {version}: n/a: {entry['blas_missing']}")
    return "\n".join(dict.fromkeys(lines + blas))


# ----- the correctness check ---------------------------------------------------------
# Float32 sums in another order differ in the last bits; Adam divides by the
# gradient's running size, so a weight whose gradient nearly cancels over the
# steps can move noticeably differently. The whole update must agree closely
# (UPDATE_RTOL), and no single weight may be off by half an Adam step (a sign
# or indexing bug moves one by two steps).
LOSS_RTOL, UPDATE_RTOL, WEIGHT_ATOL = 1e-4, 1e-3, 0.5e-3


def _compare(losses, weights, zen_losses, zen_weights, initial):
    """(loss rel. error, update rel. error, largest weight error), or None
    when the weight shapes differ."""
    if [w.shape for w in weights] != [w.shape for w in zen_weights]:
        return None
    loss = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(losses, zen_losses))
    diff = np.sqrt(sum(float(np.sum((w - z).astype(np.float64) ** 2))
                       for w, z in zip(weights, zen_weights)))
    update = np.sqrt(sum(float(np.sum((z - w0).astype(np.float64) ** 2))
                         for z, w0 in zip(zen_weights, initial)))
    largest = max(float(np.max(np.abs(w - z))) for w, z in zip(weights, zen_weights))
    return loss, diff / max(update, 1e-30), largest


def check(module_name, options, log):
    """Train every version from the same weights on the same batch for a few
    steps; the losses and final weights of numpy and torch must match Zen's.
    Returns True when they do (versions that cannot run are skipped)."""
    module = importlib.import_module(module_name)
    x, y = module.make_data(options.seed)
    initial = module.initial_weights(options.seed)
    dtype = getattr(module, "CHECK_DTYPE", None)  # a workload whose float32 check is noise
    if dtype is not None:
        x, initial = x.astype(dtype), [w.astype(dtype) for w in initial]
        log(f"  check {module.NAME}: in {np.dtype(dtype).name} (see bench_{module.NAME}.py)")
    runs = {}
    for version in options.versions:
        try:
            trainee = build(module, version, [w.copy() for w in initial], x, y,
                            options.torch_threads)
        except Unavailable as why:
            log(f"  check {module.NAME} {version}: skipped: {why}")
            continue
        runs[version] = ([trainee.step() for _ in range(options.check_steps)], trainee.weights())
    if "zen" not in runs:
        log(f"  check {module.NAME}: Zen cannot run, nothing to compare against")
        return False
    zen_losses, zen_weights = runs.pop("zen")
    moved = max(float(np.max(np.abs(w - w0))) for w, w0 in zip(zen_weights, initial))
    ok = moved > 0.1 * 1e-3  # Adam moves some weights by about lr per step
    log(f"  check {module.NAME}: zen losses " + ", ".join(f"{v:.6f}" for v in zen_losses) +
        f"; largest weight change {moved:.2e}" + ("" if ok else " (too small: not training?)"))
    for version, (losses, weights) in runs.items():
        errors = _compare(losses, weights, zen_losses, zen_weights, initial)
        if errors is None:
            ok = False
            log(f"  check {module.NAME} {version}: FAIL: weight shapes differ from Zen's")
            continue
        passed = all(e <= limit for e, limit in zip(errors, (LOSS_RTOL, UPDATE_RTOL, WEIGHT_ATOL)))
        ok = ok and passed
        log(f"  check {module.NAME} {version} vs zen, {options.check_steps} steps: loss rel. "
            f"error {errors[0]:.1e} (limit {LOSS_RTOL:g}), update rel. error {errors[1]:.1e} "
            f"(limit {UPDATE_RTOL:g}), largest weight error {errors[2]:.1e} "
            f"(limit {WEIGHT_ATOL:g}): {'PASS' if passed else 'FAIL'}")
    return ok
