"""`Model.summary()`'s table, as Keras prints it: one row per layer with its
name and type, output shape and number of weights (and, for a functional
model, the "Connected to" column: the layer outputs each call reads), then
the totals, where a layer shared by several calls or models counts once.
"""

__all__ = ["table"]


def table(model) -> str:
    """The summary of a built `model` as text."""
    graph = getattr(model, "_graph", None)
    if graph is not None:
        header = ("Layer (type)", "Output Shape", "Param #", "Connected to")
        rows = _functional_rows(graph)
    else:
        header = ("Layer (type)", "Output Shape", "Param #")
        rows = _stack_rows(model)
    return _render(model, [header] + rows)


def _stack_rows(model):
    """Sequential: each layer with the output shape `build` recorded; a
    subclassed model: each tracked sublayer with the shape of its last
    output, when known."""
    shapes = getattr(model, "_output_shapes", None) or []
    rows = []
    for i, layer in enumerate(model.sublayers()):
        shape = shapes[i] if i < len(shapes) else getattr(layer, "output_shape", "?")
        rows.append((f"{layer.name} ({kind(layer)})", str(shape),
                     f"{layer.count_params():,}"))
    return rows


def _functional_rows(graph):
    """One row per layer (a layer called several times, shared, is one row
    that lists what each of its calls reads), in graph order."""
    rows = [(f"{layer.name} ({kind(layer)})", str(layer.output.shape), "0", "-")
            for layer in graph.input_layers]
    for layer in graph.layers[len(graph.input_layers):]:
        calls = [node for node in graph.nodes if node.layer is layer]
        outputs = calls[0].flat_outputs
        shape = outputs[0].shape if len(outputs) == 1 else [t.shape for t in outputs]
        sources = [s for node in calls for s in graph.inbound_layers(node)] or ["-"]
        rows.append((f"{layer.name} ({kind(layer)})", str(shape),
                     f"{layer.count_params():,}", sources[0]))
        rows.extend(("", "", "", source) for source in sources[1:])
    return rows


def kind(layer) -> str:
    """The type shown for a layer: its class, or "Functional" for a graph
    model, as Keras shows it."""
    return "Functional" if getattr(layer, "_graph", None) is not None else type(layer).__name__


def _render(model, rows):
    widths = [max(len(row[i]) for row in rows) + 3 for i in range(len(rows[0]))]
    width = sum(widths)

    def line(row):
        return "".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()

    trainable = sum(t.size for t in model.parameters())
    total = model.count_params()
    text = [f'Model: "{model.name}"', "_" * width, line(rows[0]), "=" * width]
    text += [line(row) for row in rows[1:]]
    text += ["=" * width, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
             f"Non-trainable params: {total - trainable:,}", "_" * width]
    return "\n".join(text)
