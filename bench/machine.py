"""What the benchmark harness reads from the operating system: memory of this
process (VmRSS / VmHWM), CPU time of the whole machine and of this process,
and from those two the load that OTHER processes put on the machine while a
timed window ran.

Linux only (/proc). Everything is in clock ticks (USER_HZ, usually 100 per
second), the unit both /proc/stat and /proc/self/stat count in, so that the
two subtract cleanly.
"""
import os
import time

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# /proc/stat columns: user nice system idle iowait irq softirq steal guest guest_nice.
# Busy = everything but idle and iowait; guest time is already inside user/nice.
_BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)


def memory_mib() -> dict:
    """{"rss": current resident set, "peak": VmHWM, the highest it has been}, in MiB."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key = "rss" if line.startswith("VmRSS") else "peak"
                values[key] = int(line.split()[1]) / 1024  # the file says kB
    return values


def cpu_count() -> int:
    """The machine's CPUs, as /proc/stat lists them (the capacity foreign load
    is measured against)."""
    with open("/proc/stat") as stat:
        return sum(1 for line in stat if line.startswith("cpu") and line[3].isdigit())


def machine_busy_ticks() -> int:
    """CPU ticks every process on the machine has used since boot (steal
    included: time the hypervisor gave to others is lost to us too)."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:]
    return sum(int(fields[i]) for i in _BUSY_COLUMNS if i < len(fields))


def own_ticks() -> int:
    """CPU ticks this process has used (all its threads, BLAS's included)."""
    with open("/proc/self/stat") as stat:
        text = stat.read()
    fields = text[text.rindex(")") + 2:].split()  # the name in (...) may hold spaces
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


class Window:
    """A timed window that also measures the foreign load during it.

    Example:
        with Window() as window:
            for _ in range(n):
                step()
        window.seconds, window.foreign_cores
    """

    def __enter__(self):
        self._busy, self._own = machine_busy_ticks(), own_ticks()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        foreign = (machine_busy_ticks() - self._busy) - (own_ticks() - self._own)
        # Negative values are tick-rounding noise (the two counters are sampled apart).
        self.foreign_cores = max(foreign, 0) / TICKS_PER_SECOND / self.seconds
        return False


def openblas_runtime() -> str:
    """The kernel OpenBLAS picked at run time and its thread count, as
    threadpoolctl reports them (read here with ctypes from the library numpy
    loaded), or a note saying they could not be read."""
    import ctypes

    import numpy  # noqa: F401 - loads the BLAS library to look at

    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    for path in sorted(p for p in paths if ".so" in p):
        library = ctypes.CDLL(path)
        for prefix in ("scipy_", ""):
            for suffix in ("64_", ""):
                try:
                    corename = getattr(library, f"{prefix}openblas_get_corename{suffix}")
                    threads = getattr(library, f"{prefix}openblas_get_num_threads{suffix}")
                except AttributeError:
                    continue
                corename.restype = ctypes.c_char_p
                count = threads()
                return f"{corename().decode()} kernel with {count} thread{'s' * (count != 1)}"
    return "kernel unknown (no OpenBLAS library found)"
