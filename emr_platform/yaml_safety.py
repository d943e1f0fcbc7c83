"""Reading one YAML config file strictly with ruamel.yaml: UTF-8 text, each key once, aliases
expanded within a bound.

ruamel.yaml parses, composes and constructs, and refuses a key repeated in one mapping. Two
things are added here. Aliases: they stay shared nodes while composing (cheap), but a "billion
laughs" file of a few hundred bytes expands to a structure whose traversal or repr never ends, so
:func:`load_yaml` counts the expanded nodes before anything is built. Names: a refusal names the
key path and both lines of a repeated key, and lists every repeated key, not only the first.

Every refusal is a :class:`YamlRefused` whose ``problems`` are one line each, naming the file
and the line or key path. Nothing a refusal keeps refers to the document.
:func:`load_yaml_lines` also gives the line of each key, for errors found after loading.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

# Nodes of the document with every alias expanded. config.yml has about 250; a billion-laughs
# file has millions. Pydantic and error messages walk the expanded document, so this bounds them.
MAX_EXPANDED_NODES = 10_000


class YamlRefused(ValueError):
    """A YAML file that is not read; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def load_yaml(raw: bytes, label: str, max_nodes: int = MAX_EXPANDED_NODES) -> Any:
    """The document in ``raw`` (UTF-8 YAML 1.2, as ruamel.yaml's safe loader reads it) as Python
    objects; ``label`` names the file in problems.

    Raises :class:`YamlRefused` for bytes that are not UTF-8, YAML syntax errors, a key that
    occurs twice in one mapping (naming both lines), and more than ``max_nodes`` nodes after
    alias expansion (or an alias inside its own anchor).
    """
    return load_yaml_lines(raw, label, max_nodes)[0]


def load_yaml_lines(raw: bytes, label: str, max_nodes: int = MAX_EXPANDED_NODES) -> tuple[Any, dict[tuple, int]]:
    """As :func:`load_yaml`, with the 1-based line of each value by its key path: a mapping's
    key (``("emr_classic", "profiles", "default", "release_label")``: the key's line) and a
    sequence's item (``("cost", "budget_thresholds", 1)``). Raises :class:`YamlRefused` as
    :func:`load_yaml`."""
    data, problems, root = _load(raw, label, max_nodes)
    if problems:  # raised here, outside every except block: no __context__ reaching the parser or the document
        raise YamlRefused(problems)
    return data, _lines(root) if root is not None else {}


def _lines(root: Node) -> dict[tuple, int]:
    """Line of each key path of the document (aliases expanded, bounded by ``max_nodes``); a key
    merged in with ``<<`` has its anchor's line."""
    lines: dict[tuple, int] = {}
    stack: list[tuple[Node, tuple]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, MappingNode):
            for key_node, value in node.value:
                where = (*path, _key_text(key_node))
                lines.setdefault(where, key_node.start_mark.line + 1)
                stack.append((value, where))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                lines.setdefault((*path, index), item.start_mark.line + 1)
                stack.append((item, (*path, index)))
    return lines


class _RecordingConstructor(SafeConstructor):
    """ruamel.yaml's safe constructor, recording each repeated key (with its mapping) instead of
    stopping at the first."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.repeated: dict[tuple[int, int], tuple[MappingNode, Node]] = {}

    def check_mapping_key(self, node, key_node, mapping, key, value) -> bool:
        if key in mapping:
            self.repeated[id(node), id(key_node)] = (node, key_node)
            return False
        return True

    def flatten_mapping(self, node) -> None:
        super().flatten_mapping(node)
        if getattr(node, "merge", None):  # ruamel.yaml checks no key of a mapping holding `<<`
            seen: set[tuple[str, Any]] = set()
            for key_node, _ in _own_pairs(node):
                if (key_node.tag, key_node.value) in seen:
                    self.repeated[id(node), id(key_node)] = (node, key_node)
                seen.add((key_node.tag, key_node.value))


def _own_pairs(mapping: MappingNode) -> list[tuple[Node, Node]]:
    """The mapping's own ``(key, value)`` nodes, without those a ``<<`` merged in front of them."""
    return mapping.value[len(getattr(mapping, "merge", None) or []):]


def _load(raw: bytes, label: str, max_nodes: int) -> tuple[Any, list[str], Node | None]:
    """``(data, problems, composed root node)``; the node is None when there are problems or no document."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column(raw, exc.start)
        return None, [f"{label}: line {line}, column {column}: expected UTF-8 text, got byte 0x{raw[exc.start]:02x}"], None
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _RecordingConstructor
    try:
        node = yaml.compose(text)
        if node is None:
            return None, [], None
        size = _expanded_size(node, max_nodes)
        if size is None:
            return None, [f"{label}: expected no alias inside its own anchor, got a recursive alias"], None
        if size > max_nodes:
            return None, [f"{label}: expected at most {max_nodes} values with aliases expanded, got more (an alias bomb?)"], None
        data = yaml.constructor.construct_document(node)
    except YAMLError as exc:  # syntax, a control character, an unknown tag such as !!python/object
        return None, [_syntax_problem(exc, text, label)], None
    except RecursionError:  # ruamel.yaml composes recursively
        return None, [f"{label}: not valid YAML: nested too deeply"], None
    problems = _repeated_keys(node, list(yaml.constructor.repeated.values()), label)
    return data, problems, None if problems else node


def _line_column(text: str | bytes, position: int) -> tuple[int, int]:
    """1-based line and column of ``position`` (a character, or a byte of ``bytes``)."""
    newline = b"\n" if isinstance(text, bytes) else "\n"
    return text.count(newline, 0, position) + 1, position - (text.rfind(newline, 0, position) + 1) + 1


def _syntax_problem(exc: YAMLError, text: str, label: str) -> str:
    if isinstance(exc, ReaderError):  # a control character: no mark, only a position
        line, column = _line_column(text, exc.position)
        return f"{label}: not valid YAML (line {line}, column {column}): unacceptable character #x{exc.character:04x}"
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{label}: not valid YAML{where}: {problem}"


def _children(node: Node) -> list[tuple[str | int | None, Node]]:
    """``(key or index, child)``; a mapping's key nodes come with key ``None``."""
    if isinstance(node, MappingNode):
        return [pair for key, value in node.value for pair in ((None, key), (_key_text(key), value))]
    if isinstance(node, SequenceNode):
        return list(enumerate(node.value))
    return []


def _key_text(key_node: Node) -> str:
    return key_node.value if isinstance(key_node, ScalarNode) else "<complex key>"


def _expanded_size(root: Node, limit: int) -> int | None:
    """Nodes of the document with aliases expanded, counting stops past ``limit``; ``None`` if recursive.

    An alias is the very node object of its anchor, so sizes are memoized by node identity:
    linear in the composed document, however large the expansion.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # expansion started, not finished: the ancestors of the node popped
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for _, child in _children(node))
            if sizes[id(node)] > limit:
                return sizes[id(node)]
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            return None
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for _, child in _children(node))
    return sizes[id(root)]


def _repeated_keys(root: Node, repeated: list[tuple[MappingNode, Node]], label: str) -> list[str]:
    """One problem per key ruamel.yaml found repeated, in document order, with its key path (the
    first one reaching its mapping) and the lines of its first and its repeated occurrence."""
    if not repeated:
        return []
    paths: dict[int, tuple] = {}
    stack: list[tuple[Node, tuple]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) not in paths:
            paths[id(node)] = path
            stack.extend((child, (*path, key)) for key, child in reversed(_children(node)) if key is not None)
    problems = []
    for mapping, key_node in sorted(repeated, key=lambda found: found[1].start_mark.index):
        first = next(k for k, _ in _own_pairs(mapping) if (k.tag, k.value) == (key_node.tag, key_node.value))
        where = ".".join(map(str, (*paths[id(mapping)], _key_text(key_node))))
        lines = f"lines {first.start_mark.line + 1} and {key_node.start_mark.line + 1}"
        problems.append(f"{label}: {where}: expected each key once, got it twice ({lines})")
    return problems
