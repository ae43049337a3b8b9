"""The package layering of DESIGN.md holds: no module imports a package above
its own (or a sibling at its level), and no Zen import hides inside a
function. Checked on the syntax tree of every file under zen/."""
import ast
from pathlib import Path

ZEN = Path(__file__).resolve().parent.parent / "zen"
UTILITIES = {"backend", "rng", "fileio", "version", "tree"}
# package -> the Zen packages its modules may import (besides their own)
ALLOWED = {
    "utilities": set(),
    "data": {"utilities"},
    "autodiff": {"utilities"},
    "nn": {"utilities", "autodiff"},
    "optim": {"utilities", "autodiff"},
    "train": {"utilities", "data", "autodiff", "nn", "optim"},
    "models": {"utilities", "data", "autodiff", "nn", "optim", "train"},
    "distributed": {"utilities", "data", "autodiff", "nn", "optim", "train", "models"},
}
TRAIN_LEVEL = {"metrics", "callbacks"}  # top-level modules that belong to zen.train


def package_of(parts):
    """The layer of a module given its dotted path inside zen, e.g.
    ("nn", "core") -> "nn", ("fileio",) -> "utilities"."""
    head = parts[0]
    if head in UTILITIES:
        return "utilities"
    if head in TRAIN_LEVEL:
        return "train"
    return head


def imported_modules(path):
    """(zen-relative module parts, line, inside a function) per Zen import."""
    module = path.relative_to(ZEN).with_suffix("").parts
    package = module[:-1] if module[-1] != "__init__" else module[:-1]
    tree = ast.parse(path.read_text())
    functions = [node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    in_function = {id(inner) for f in functions for inner in ast.walk(f) if inner is not f}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                target = base + tuple(filter(None, (node.module or "").split(".")))
                targets = [target + (alias.name,) if not node.module else target
                           for alias in node.names]
            elif (node.module or "").split(".")[0] == "zen":
                targets = [tuple(node.module.split(".")[1:])]
            else:
                continue
        elif isinstance(node, ast.Import):
            targets = [tuple(a.name.split(".")[1:]) for a in node.names
                       if a.name.split(".")[0] == "zen"]
        else:
            continue
        found.extend((t, node.lineno, id(node) in in_function) for t in targets if t)
    return found


def modules():
    return [p for p in sorted(ZEN.rglob("*.py")) if p.relative_to(ZEN).parts[0] != "__init__.py"]


def test_every_package_imports_only_packages_below_it():
    violations = []
    for path in modules():
        own = package_of(path.relative_to(ZEN).with_suffix("").parts)
        for target, line, _ in imported_modules(path):
            other = package_of(target)
            if other != own and other not in ALLOWED[own]:
                violations.append(f"{path.relative_to(ZEN)}:{line} ({own}) imports "
                                  f"zen.{'.'.join(target)} ({other})")
    assert violations == []


def test_no_zen_import_hides_inside_a_function():
    hidden = [f"{path.relative_to(ZEN)}:{line} imports zen.{'.'.join(target)}"
              for path in modules() for target, line, inside in imported_modules(path)
              if inside]
    assert hidden == []


def test_the_checker_sees_violations(tmp_path):
    """The review above does flag an upward import and a hidden one."""
    sample = ZEN / "nn" / "_layering_probe.py"
    sample.write_text("from ..models import Model\n\ndef f():\n    from .core import Dense\n")
    try:
        found = imported_modules(sample)
    finally:
        sample.unlink()
    assert (("models", "Model"), 1, False) in found or (("models",), 1, False) in found
    assert any(inside for _, _, inside in found)


def test_zen_nn_still_names_the_models():
    import zen
    assert zen.nn.Sequential is zen.Sequential and zen.nn.Model is zen.Model
    assert zen.nn.load_model is zen.load_model
