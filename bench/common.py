"""The benchmark harness: each workload (bench_mlp, bench_cnn, bench_rnn) in
three versions, Zen, hand-written numpy and PyTorch, timed in alternation.

A workload module defines `NAME`, `TITLE`, `make_data(seed) -> (x, y)`,
`initial_weights(seed) -> [arrays in Zen's get_weights order]` and one
builder per version, `zen_trainee`, `numpy_trainee`, `torch_trainee`, each
`(weights, x, y) -> trainee`: an object with `step() -> loss` (one whole
training step) and `weights() -> [arrays in Zen's order]`.

How a figure is made (see README.md):
- Each version runs in its own worker process, so that its peak RSS is its
  own and one framework's allocations cannot slow another's.
- After a warm-up the versions are timed in alternation, one window of N
  steps each per round (A B C A B C ...), so that all see the same machine.
- During every window the load of OTHER processes is measured from
  /proc/stat; a window above `--max-foreign-load` is refused and retried, and
  a round with a refused window is dropped for all versions. Medians and
  ratios come from clean rounds only.
- In the versions that run on numpy's BLAS (`BLAS_TIMED`), a preloaded shim
  (blas_time.py) also counts the wall time spent inside BLAS calls.
"""
import contextlib
import importlib
import multiprocessing
import statistics
import time
import traceback

from blas_time import NotMeasured, attach, preloaded
from machine import Window, memory_mib

VERSIONS = ("zen", "numpy", "torch")
BLAS_TIMED = ("zen", "numpy")  # torch's MKL/oneDNN is linked into libtorch, out of the shim's reach


class Unavailable(Exception):
    """A version that cannot run here (PyTorch not installed)."""


# ----- the trainees -------------------------------------------------------------
class ZenTrainee:
    """One Zen training step: model(x), loss, backward, opt.step, opt.zero_grad."""

    def __init__(self, model, loss, optimizer, x, y):
        self.model, self.loss, self.optimizer, self.x, self.y = model, loss, optimizer, x, y
        self.params = model.parameters()

    def step(self) -> float:
        loss = self.loss(self.y, self.model(self.x, training=True))
        loss.backward()
        self.optimizer.step(self.params)
        self.optimizer.zero_grad(self.params)
        return loss.item()

    def weights(self):
        return self.model.get_weights()


def zen_modules():
    """(zen.nn, zen.optim), imported only in the processes that run Zen."""
    from zen import nn, optim
    return nn, optim


def import_torch(threads=None):
    """The torch module (with `threads` intra-op threads when given), or
    Unavailable when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        raise Unavailable("PyTorch is not installed (pip install torch): no torch column") from None
    if threads is not None:
        torch.set_num_threads(threads)
    return torch


class TorchTrainee:
    """One PyTorch step: zero_grad, forward, loss, backward, Adam step.
    `to_zen(model)` gives the weights in Zen's layout, for the check."""

    def __init__(self, torch, model, loss, x, y, to_zen, lr=1e-3):
        self.model, self.loss, self.to_zen = model, loss, to_zen
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def step(self) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def weights(self):
        return [w.detach().numpy().copy() for w in self.to_zen(self.model)]


def _transposed(kernel, recurrent, bias):
    """Keras's (in, out) kernels as torch's (out, in), its one bias as bias_ih."""
    return kernel.T, recurrent.T, bias, None


def _transposed_back(rnn):
    return [rnn.weight_ih_l0.T, rnn.weight_hh_l0.T, rnn.bias_ih_l0 + rnn.bias_hh_l0]


def torch_recurrent_trainee(cell_name, weights, x, y, to_torch=_transposed,
                            to_zen_order=_transposed_back):
    """torch.nn.`cell_name` (RNN, LSTM or GRU, batch_first) then Linear(units,
    1) on the last state, MSE, from Zen's weights [kernel (features, k *
    units), recurrent (units, k * units), bias, dense kernel, dense bias].
    `to_torch(kernel, recurrent, bias)` -> (weight_ih, weight_hh, bias_ih,
    bias_hh) numpy arrays, bias_hh None to freeze it at zero (Keras has one
    bias; Adam would move both); `to_zen_order(rnn)` -> [kernel, recurrent,
    bias] torch tensors. The defaults fit RNN and LSTM, whose gate order is
    Keras's."""
    import numpy as np

    torch = import_torch()
    nn = torch.nn
    kernel, recurrent, bias, dense_kernel, dense_bias = weights
    features, units = kernel.shape[0], recurrent.shape[0]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, cell_name)(features, units, batch_first=True)
            self.head = nn.Linear(units, 1)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])

    model = Net()
    rnn = model.rnn
    arrays = to_torch(kernel, recurrent, bias)
    with torch.no_grad():
        for tensor, array in zip((rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0,
                                  rnn.bias_hh_l0), arrays):
            if array is None:
                tensor.zero_()
                tensor.requires_grad_(False)  # Keras has one bias: freeze the second at 0
            else:
                tensor.copy_(torch.from_numpy(np.ascontiguousarray(array)))
        model.head.weight.copy_(torch.from_numpy(dense_kernel.T.copy()))
        model.head.bias.copy_(torch.from_numpy(dense_bias))

    def to_zen(model):
        return [*to_zen_order(rnn), model.head.weight.T, model.head.bias]

    return TorchTrainee(torch, model, nn.functional.mse_loss, x, y, to_zen)


def build(module, version, weights, x, y, torch_threads=2):
    """The trainee of `version` for a workload module (see the module docstring)."""
    if version == "torch":
        import_torch(torch_threads)
    return getattr(module, f"{version}_trainee")(weights, x, y)


# ----- the worker process ------------------------------------------------------------
def _serve(conn, module_name, version, seed, torch_threads, blas_library):
    """Worker main loop: build one version, then answer commands until "stop".
    Replies are ("ok", payload), ("unavailable", why) or ("error", traceback).
    `blas_library` is the preloaded BLAS-time shim, or None."""
    try:
        start = memory_mib()
        module = importlib.import_module(module_name)
        x, y = module.make_data(seed)
        trainee = build(module, version, module.initial_weights(seed), x, y, torch_threads)
        ready = {"start": start["rss"], "ready": memory_mib()["rss"]}
        blas = _blas_clock(blas_library, ready)
        conn.send(("ok", ready))
    except Unavailable as why:
        conn.send(("unavailable", str(why)))
        return
    except Exception:  # noqa: BLE001 - reported to the parent, which prints it
        conn.send(("error", traceback.format_exc()))
        return
    commands = {**_COMMANDS, "time": lambda trainee, steps: _timed(trainee, steps, blas)}
    while True:
        command, arg = conn.recv()
        if command == "stop":
            return
        try:
            conn.send(("ok", commands[command](trainee, arg)))
        except Exception:  # noqa: BLE001
            conn.send(("error", traceback.format_exc()))


def _blas_clock(library, ready):
    """The shim's clock, or None with the reason in ready["blas_missing"]."""
    if library is None:
        return None
    try:
        return attach(library)
    except NotMeasured as why:
        ready["blas_missing"] = str(why)
        return None


def _warmup(trainee, steps):
    for _ in range(steps):
        trainee.step()
    return memory_mib()


def _calibrate(trainee, seconds):
    """Seconds per step, from as many steps as fit in `seconds` (at least 2)."""
    steps, start = 0, time.perf_counter()
    while steps < 2 or time.perf_counter() - start < seconds:
        trainee.step()
        steps += 1
    return (time.perf_counter() - start) / steps


def _timed(trainee, steps, blas=None):
    """One window of `steps` steps: its seconds, foreign load and memory, and
    with a BLAS clock the share of the window spent in BLAS calls."""
    if blas is not None:
        seconds, calls = blas.seconds(), blas.calls()
    with Window() as window:
        for _ in range(steps):
            trainee.step()
    figures = {"seconds": window.seconds, "foreign": window.foreign_cores, **memory_mib()}
    if blas is not None:
        figures.update(blas=(blas.seconds() - seconds) / window.seconds,
                       blas_calls=(blas.calls() - calls) / steps)
    return figures


_COMMANDS = {"warmup": _warmup, "calibrate": _calibrate,
             "memory": lambda trainee, _: memory_mib()}


class WorkerError(RuntimeError):
    pass


class Worker:
    """The parent's handle on one version's worker process."""

    def __init__(self, module_name, version, options):
        ctx = multiprocessing.get_context("spawn")  # a clean process: no inherited memory
        self.conn, child = ctx.Pipe()
        blas_library = options.blas_library if version in BLAS_TIMED else None
        self.process = ctx.Process(target=_serve, daemon=True,
                                   args=(child, module_name, version, options.seed,
                                         options.torch_threads, blas_library))
        self.version = version
        with preloaded(blas_library) if blas_library else contextlib.nullcontext():
            self.process.start()
        child.close()

    def reply(self):
        try:
            status, payload = self.conn.recv()
        except EOFError:  # the process died without a word (killed, crashed)
            self.process.join(timeout=10)
            raise WorkerError(f"the {self.version} worker process died "
                              f"(exit code {self.process.exitcode})") from None
        if status == "error":
            raise WorkerError(payload)
        if status == "unavailable":
            raise Unavailable(payload)
        return payload

    def ask(self, command, arg=None):
        self.conn.send((command, arg))
        return self.reply()

    def close(self):
        if self.process.is_alive():
            try:
                self.conn.send(("stop", None))
            except (BrokenPipeError, OSError):
                pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()


# ----- one workload, all versions --------------------------------------------------
def benchmark(module_name, options, log):
    """Time every version of one workload; returns a result dict (see `report`)."""
    result = {"workload": module_name, "versions": {}, "rounds": options.rounds, "clean": 0,
              "refused": []}
    workers = {}
    for version in options.versions:
        workers[version] = Worker(module_name, version, options)
    try:
        active = _start(workers, result, options, log)
        if len(active) > 0:
            _rounds(active, result, options, log)
        for version, worker in active.items():
            result["versions"][version]["memory"].update(end=worker.ask("memory"))
    finally:
        for worker in workers.values():
            worker.close()
    return result


def _start(workers, result, options, log):
    """Build, warm up and calibrate each version; returns the workers that run."""
    active = {}
    for version, worker in workers.items():
        entry = result["versions"][version] = {"status": "ok", "times": [], "blas": []}
        try:
            entry["memory"] = worker.reply()
            entry["blas_missing"] = (entry["memory"].pop("blas_missing", None)
                                     or _blas_not_preloaded(version, options))
            entry["memory"]["warm"] = worker.ask("warmup", options.warmup)["rss"]
            per_step = worker.ask("calibrate", min(options.window / 4, 0.5))
        except Unavailable as why:
            entry.update(status="unavailable", message=str(why))
            log(f"  {version}: skipped: {why}")
            continue
        except WorkerError as error:
            entry.update(status="error", message=str(error).strip().splitlines()[-1])
            log(f"  {version}: failed:\n{error}")
            continue
        entry["steps"] = options.steps or max(1, round(options.window / per_step))
        log(f"  {version}: ~{per_step * 1e3:.2f} ms/step, windows of {entry['steps']} steps")
        active[version] = worker
    return active


def _blas_not_preloaded(version, options):
    """Why a version's worker has no BLAS clock (None when it has one)."""
    if version not in BLAS_TIMED:
        return f"not measured for {version} (its BLAS is linked into the framework)"
    return options.blas_missing


def _rounds(active, result, options, log):
    """Alternate the versions, round after round; keep clean rounds only."""
    for number in range(1, options.rounds + 1):
        windows = {}
        for version, worker in active.items():
            entry = result["versions"][version]
            window = _clean_window(worker, entry["steps"], options, result["refused"],
                                   log, f"round {number}/{options.rounds} {version}")
            if window is None:
                break
            windows[version] = window
        if len(windows) < len(active):
            log(f"  round {number}/{options.rounds}: dropped (a window stayed loaded)")
            continue
        result["clean"] += 1
        figures = []
        for version, window in windows.items():
            entry = result["versions"][version]
            entry["times"].append(window["seconds"] / entry["steps"])
            figures.append(f"{version} {entry['times'][-1] * 1e3:.3f} ms")
            if "blas" in window:
                entry["blas"].append(window["blas"])
                entry["blas_calls_per_step"] = window["blas_calls"]
                figures[-1] += f" ({window['blas']:.0%} in BLAS)"
        log(f"  round {number}/{options.rounds}: " + "  ".join(figures))


def _clean_window(worker, steps, options, refused, log, label):
    """A window whose foreign load is under the limit, or None after the
    retries; the load of each refused window is appended to `refused`."""
    for attempt in range(options.retries + 1):
        window = worker.ask("time", steps)
        if window["foreign"] <= options.max_foreign_load:
            return window
        refused.append(window["foreign"])
        log(f"  {label}: refused: foreign load {window['foreign']:.0%} of a core "
            f"(limit {options.max_foreign_load:.0%}), "
            f"{'retrying' if attempt < options.retries else 'giving up'}")
        if attempt < options.retries:
            time.sleep(options.retry_wait)
    return None


def median_ms(entry):
    return statistics.median(entry["times"]) * 1e3 if entry.get("times") else None


def median_blas_share(entry):
    """Median over the clean rounds of (seconds in BLAS calls / window seconds)."""
    return statistics.median(entry["blas"]) if entry.get("blas") else None
