"""A griffe extension for Zen's API pages (mkdocs.yml loads it into mkdocstrings).

Zen's docstrings are written for `help()` and the source; four things make
them read the same on the site:

- an `Example:` block (plain indented code, no `>>>`) becomes a fenced
  Python block, so it is shown as code, not run together as prose;
- a method that overrides a documented one and has no docstring of its own
  shows the one it overrides (as `inspect.getdoc` does), so `Dense.call`
  reads `Layer.call`'s;
- a class whose docstring is built when its module runs
  (`__doc__ = f"..."`) gets the one Python gives it, from the imported module;
- a one-line forwarder without a docstring (`def exp(self): return
  ops.exp(self)`, `def add(a, b): return Add.apply(a, b)`) shows the
  docstring of what it calls: the function, or the op's `Function` class.

An instance attribute (`self.units = units`) without a docstring is left out:
the class's `Args:` describe it. Every other public object the site renders
must have a docstring: the templates in docs/ext/templates warn about any
that has none, and `mkdocs build --strict` fails on the warning.
"""
import ast
import importlib
import inspect
import re
import textwrap

import griffe

_LOG = griffe.get_logger("griffe_zen")
_EXAMPLE = re.compile(r"^(?P<indent>\s*)Examples?(?: \((?P<title>[^)]*)\))?:\s*$")


def fence_examples(text: str) -> str:
    """Wrap the indented code under each `Example:` line in a ```python fence."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        match = _EXAMPLE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent = len(match["indent"])
        block_end = i + 1
        while block_end < len(lines) and (not lines[block_end].strip()
                                          or _indent(lines[block_end]) > indent):
            block_end += 1
        while block_end > i + 1 and not lines[block_end - 1].strip():
            block_end -= 1
        block = lines[i + 1:block_end]
        if not block or any(line.strip().startswith(("```", ">>>")) for line in block):
            out.extend(lines[i:block_end])
        else:
            inner = min(_indent(line) for line in block if line.strip())
            title = f" {match['title']}" if match["title"] else ""
            out.append(f"{match['indent']}Example:{title}")
            out.append(" " * inner + "```python")
            out.extend(block)
            out.append(" " * inner + "```")
        i = block_end
    return "\n".join(out)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


class ZenDocstrings(griffe.Extension):
    """Prepares the docstrings of the `zen` package for the site (see the module's docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        """Runs once the whole package is loaded: every object is visited once."""
        if pkg.name != "zen":
            return
        classes = []
        self._visit(pkg, classes, set())
        for cls in classes:
            self._built_docstring(cls)
        for cls in classes:
            self._inherit_docstrings(cls)
            self._drop_undocumented_instance_attributes(cls)
        for func in self._functions(pkg, set()):
            if not func.docstring:
                docstring = _forwarded_docstring(func, pkg.modules_collection, depth=3)
                if docstring:
                    func.docstring = griffe.Docstring(docstring.value, lineno=func.lineno,
                                                      parent=func)
        self._fence(pkg, set())

    def _functions(self, obj, seen):
        if obj.path in seen:
            return
        seen.add(obj.path)
        for member in obj.members.values():
            if member.is_alias:
                continue
            if member.is_function:
                yield member
            elif member.is_module or member.is_class:
                yield from self._functions(member, seen)

    def _visit(self, obj, classes, seen):
        if obj.path in seen:
            return
        seen.add(obj.path)
        for member in list(obj.members.values()):
            if member.is_alias:
                continue
            if member.is_class:
                classes.append(member)
            if member.is_module or member.is_class:
                self._visit(member, classes, seen)

    def _built_docstring(self, cls):
        """`__doc__ = f"..."` in a class body: the docstring exists only at run time."""
        if cls.docstring or "__doc__" not in cls.members:
            return
        try:
            module = importlib.import_module(cls.module.path)
        except Exception as error:  # the class's docstring stays missing, and is reported
            _LOG.warning(f"{cls.path}: its docstring is built at import, and "
                                  f"importing {cls.module.path} failed: {error!r}")
            return
        runtime = getattr(module, cls.name, None)
        if runtime is not None and runtime.__doc__:
            cls.docstring = griffe.Docstring(inspect.cleandoc(runtime.__doc__),
                                             lineno=cls.lineno, parent=cls)
        del cls.members["__doc__"]

    def _inherit_docstrings(self, cls):
        for name, member in cls.members.items():
            if member.is_alias or member.docstring or not (member.is_function
                                                           or member.is_attribute):
                continue
            for base in _bases(cls):
                inherited = base.members.get(name)
                if inherited is not None and not inherited.is_alias and inherited.docstring:
                    member.docstring = griffe.Docstring(inherited.docstring.value,
                                                        lineno=inherited.docstring.lineno,
                                                        parent=member)
                    break

    def _drop_undocumented_instance_attributes(self, cls):
        for name, member in list(cls.members.items()):
            if (not member.is_alias and member.is_attribute and not member.docstring
                    and member.has_labels("instance-attribute")
                    and not member.has_labels("property")):
                del cls.members[name]

    def _fence(self, obj, seen):
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring:
            obj.docstring.value = fence_examples(obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._fence(member, seen)


def _forwarded_docstring(func, collection, depth):
    """The docstring of what `func` forwards to, if its body is one `return call(...)`."""
    try:
        tree = ast.parse(textwrap.dedent(func.source))
    except (SyntaxError, OSError, ValueError):
        return None
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.FunctionDef) else []
    if len(body) != 1 or not isinstance(body[0], ast.Return) \
            or not isinstance(body[0].value, ast.Call):
        return None
    dotted = _dotted(body[0].value.func)
    if dotted is None:
        return None
    first, *rest = dotted
    try:
        path = ".".join([func.parent.resolve(first), *rest])
    except Exception:  # a local name, a builtin, or a name griffe cannot place
        return None
    if rest and rest[-1] == "apply":  # `Op.apply(...)`: the op's class says what it does
        path = path.removesuffix(".apply")
    try:
        target = collection[path]
    except Exception:
        return None
    if target.docstring:
        return target.docstring
    if depth and target.is_function:
        return _forwarded_docstring(target, collection, depth - 1)
    return None


def _dotted(node):
    """["ops", "exp"] for `ops.exp`, None for anything but a dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *parts]


def _bases(cls):
    """The class's ancestors in method resolution order (those griffe can find)."""
    try:
        return cls.mro()
    except Exception:  # a base outside the package, or one griffe cannot resolve
        return [base for base in cls.resolved_bases if isinstance(base, griffe.Class)]
