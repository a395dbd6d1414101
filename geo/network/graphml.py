"""Stream an osmnx GraphML file (osmnx 1.x or 2.x) into a :class:`RawStreets`.

``osmnx.load_graphml`` builds the whole networkx graph with every attribute and runs
``ast.literal_eval`` on every list-like value: a 60 MB file with one 15-million-item list
took 9.7 GB. This reader streams the XML instead (expat with callbacks: no tree; entity
declarations and external references refused, as ``defusedxml`` does) and keeps only
what the network needs:

* graph: ``crs``; nodes: ``x``, ``y``; edges: ``geometry``, ``length`` and the tags of
  :data:`~geo.network.raw.RAW_TAG_COLUMNS` (``highway``, ``name``, ``osmid`` and the tags
  the pedestrian filter reads). Every other attribute (``ref``, ``lanes``, ``oneway``…) is
  skipped without being stored, however long it is;
* a kept attribute value longer than :data:`MAX_ATTRIBUTE_CHARS` characters is refused
  with :class:`~geo.errors.NetworkLimitError` naming the element, before it is read in full.

On a valid osmnx file the result is the same as ``osmnx.load_graphml`` followed by
:func:`~geo.network.fromgraph.raw_from_graph`: nodes in file order (a repeated ``<node>``
merges its attributes, nodes used by edges but never declared are refused), edges in
networkx's order (by source node, then by first appearance of the node pair, then by
key; a repeated source/target/id merges its attributes), list values such as
``"['a', 'b']"`` decoded as osmnx does (flat lists of literals by a linear-time scanner;
other bracketed values with ``ast.literal_eval`` only up to :data:`_LITERAL_EVAL_MAX`
characters, longer ones stay text), ``osmid`` converted with ``int`` as osmnx does (and
refused outside the 64-bit range). Only the first ``<graph>`` is read, as networkx does.
Node and edge checks and repairs: :mod:`geo.network.validate`.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final
from xml.parsers import expat

import numpy as np
import pandas as pd

from geo.errors import InputFileError, NetworkLimitError
from geo.network.fromgraph import GraphParts, raw_from_parts
from geo.network.raw import RAW_TAG_COLUMNS, RawStreets
from geo.network.validate import fail, int64_id, short

#: Longest attribute value (characters) kept from a GraphML file.
MAX_ATTRIBUTE_CHARS: Final = 1_000_000

#: Longest bracketed value that is not a flat list given to ``ast.literal_eval``.
_LITERAL_EVAL_MAX: Final = 10_000

_NS: Final = "http://graphml.graphdrawing.org/xmlns "  # expat: namespace, space, name
_NODE_KEYS: Final = frozenset({"x", "y"})
_EDGE_KEYS: Final = frozenset({"geometry", "length", *RAW_TAG_COLUMNS})
_GRAPH_KEYS: Final = frozenset({"crs"})
_TAGS_INTERNED: Final = frozenset(RAW_TAG_COLUMNS) - {"name", "osmid"}
_EXPECTED: Final = "expected a file written by osmnx.save_graphml"

# One Python literal of a flat list: a quoted string, a number, True / False / None.
_NUMBER: Final = (r"[-+]?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+"
                  r"|0|[1-9]\d*)")
_ITEM: Final = (r"""\s*('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|"""
                rf"""{_NUMBER}|True|False|None)\s*""")
_FLAT_LIST: Final = re.compile(rf"\[(?:{_ITEM}(?:,{_ITEM})*,?\s*)?\]", re.S)
_TOKEN: Final = re.compile(_ITEM, re.S)
_CONSTANTS: Final[dict[str, object]] = {"True": True, "False": False, "None": None}


def read_graphml(path: str | os.PathLike[str], *, source: str | None = None) -> RawStreets:
    """Read the street network of an osmnx GraphML file (see the module docstring)."""
    p = Path(path)
    source = source or f"GraphML {p.name}"
    target = _Target(source)
    parser = _parser(target)
    try:
        with p.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise InputFileError(f"cannot read {source} (ParseError: {exc}); {_EXPECTED}") from None
    except _Forbidden as exc:
        raise InputFileError(
            f"cannot read {source}: it declares XML entities or refers to external ones "
            f"({exc}), which are refused; {_EXPECTED}") from None
    except OSError as exc:
        if isinstance(exc, InputFileError):
            raise
        raise InputFileError(f"cannot read {source}: {exc}") from None
    if not target.seen_graph:
        raise InputFileError(f"cannot read {source}: no GraphML <graph> element; {_EXPECTED}")
    return raw_from_parts(target.parts())


class _Forbidden(Exception):
    """An XML feature refused as defusedxml refuses it (entity declarations, external
    entities)."""


def _parser(target: _Target) -> Any:
    """An expat parser feeding ``target``, hardened as ``defusedxml`` hardens it."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def entity_decl(name: str, *args: object) -> None:
        raise _Forbidden(f"entity {name!r}")

    def external(context: object, base: object, system_id: object, public_id: object) -> int:
        raise _Forbidden(f"external entity {system_id!r}")

    parser.EntityDeclHandler = entity_decl
    parser.UnparsedEntityDeclHandler = entity_decl
    parser.ExternalEntityRefHandler = external
    parser.StartElementHandler = target.start
    parser.EndElementHandler = target.end
    parser.CharacterDataHandler = target.data
    return parser


class _Target:
    """Parser target: keeps the needed attributes of the first ``<graph>``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.keys: dict[str, str] = {}
        self.stack: list[str] = []
        self.seen_graph = False
        self.in_graph = False
        self.directed = True
        self.graph_data: dict[str, str] = {}
        # the element (node / edge) being read and its kept data
        self.element: dict[str, str] | None = None
        self.values: dict[str, str] = {}
        # the <data> being read: name (None: not kept), text chunks, size, child seen
        self.data_name: str | None = None
        self.data_chunks: list[str] = []
        self.data_size = 0
        self.data_child = False
        self.in_data = False
        # nodes: ids, coordinates (NaN when absent or not a number: see node_text)
        self.node_ids = array("q")
        self.node_xy = (array("d"), array("d"))
        self.node_text: dict[tuple[int, int], str | None] = {}
        # edges
        self.edge_u = array("q")
        self.edge_v = array("q")
        self.edge_key: list[object] = []
        self.edge_values: dict[str, list[str | None]] = {k: [] for k in _EDGE_KEYS}
        self._interned: dict[str, str] = {}

    # -------------------------------------------------------------------- parser events

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        name = tag[len(_NS):] if tag.startswith(_NS) else ""
        depth = len(self.stack)
        parent = self.stack[-1] if self.stack else ""
        self.stack.append(name)
        if self.in_data:
            self.data_child = True  # yfiles-style content: the value is not text
            return
        if depth == 0:
            if name != "graphml":
                raise InputFileError(f"cannot read {self.source}: the root element is not "
                                     f"<graphml>; {_EXPECTED}")
        elif depth == 1 and name == "key":
            key_name = attrib.get("yfiles.type") or attrib.get("attr.name")
            if key_name is None:
                raise InputFileError(f"cannot read {self.source}: <key id="
                                     f"{attrib.get('id')!r}> has no attr.name; {_EXPECTED}")
            self.keys[attrib.get("id", "")] = key_name
        elif depth == 1 and name == "graph" and not self.seen_graph:
            self.seen_graph = self.in_graph = True
            self.directed = attrib.get("edgedefault") == "directed"
        elif self.in_graph and depth == 2:
            self._start_child(name, attrib)
        elif self.in_graph and depth == 3 and parent in ("node", "edge") and name == "data":
            self._start_data(attrib, _NODE_KEYS if parent == "node" else _EDGE_KEYS)

    def _start_child(self, name: str, attrib: dict[str, str]) -> None:
        if name in ("node", "edge"):
            self.element = dict(attrib)
            self.values = {}
            if name == "edge":
                d = attrib.get("directed")
                if (d == "false" and self.directed) or (d == "true" and not self.directed):
                    raise InputFileError(
                        f"cannot read {self.source}: a directed={d} edge in a graph with "
                        f"edgedefault={'directed' if self.directed else 'undirected'}")
        elif name == "data":
            self._start_data(attrib, _GRAPH_KEYS)
        elif name == "hyperedge":
            raise InputFileError(f"cannot read {self.source}: GraphML hyperedges are not "
                                 f"supported; {_EXPECTED}")

    def _start_data(self, attrib: dict[str, str], wanted: frozenset[str]) -> None:
        key = attrib.get("key", "")
        if key not in self.keys:
            raise InputFileError(f"cannot read {self.source}: <data key={key!r}> uses a key "
                                 f"that is not declared; {_EXPECTED}")
        name = self.keys[key]
        self.in_data = True
        self.data_name = name if name in wanted else None
        self.data_chunks = []
        self.data_size = 0
        self.data_child = False

    def data(self, text: str) -> None:
        if not self.in_data or self.data_name is None or self.data_child:
            return
        self.data_size += len(text)
        if self.data_size > MAX_ATTRIBUTE_CHARS:
            raise NetworkLimitError(
                f"{self.source}: {self._where()}: attribute {self.data_name!r} is longer than "
                f"{MAX_ATTRIBUTE_CHARS:,} characters; a street network never needs that much: "
                "remove or shorten the attribute (or the element)",
                zh=f"{self.source}：{self._where()}：属性 {self.data_name!r} 超过 "
                   f"{MAX_ATTRIBUTE_CHARS:,} 个字符，路网不需要这么长的值：请删除或缩短该属性。")
        self.data_chunks.append(text)

    def end(self, tag: str) -> None:
        name = self.stack.pop()
        depth = len(self.stack)
        if self.in_data and name == "data" and depth in (2, 3):
            self._end_data(depth)
        elif self.in_graph and depth == 2 and name == "node":
            self._end_node()
        elif self.in_graph and depth == 2 and name == "edge":
            self._end_edge()
        elif self.in_graph and depth == 1 and name == "graph":
            self.in_graph = False

    # ------------------------------------------------------------------------- helpers

    def _end_data(self, depth: int) -> None:
        self.in_data = False
        name, chunks = self.data_name, self.data_chunks
        self.data_name, self.data_chunks = None, []
        if name is None or self.data_child:  # not kept, or yfiles-style content
            return
        value = "".join(chunks)  # networkx: an empty <data/> is the value ""
        if depth == 2:
            self.graph_data[name] = value
        else:
            self.values[name] = value

    def _where(self) -> str:
        el = self.element or {}
        if len(self.stack) >= 3 and self.stack[2] == "edge":
            return f"edge {el.get('source')}→{el.get('target')}"
        if len(self.stack) >= 3 and self.stack[2] == "node":
            return f"node {el.get('id')}"
        return "graph"

    def _id(self, text: str | None, what: str) -> int:
        value = int64_id(text) if text is not None else None
        if value is None:
            fail(self.source, f"{what} {short(text, 40)}",
                 "the id is not an integer within the 64-bit range (−2⁶³ … 2⁶³−1)")
        return value

    def _end_node(self) -> None:
        el = self.element or {}
        self.node_ids.append(self._id(el.get("id"), "node"))
        for axis, name in enumerate(("x", "y")):
            text = self.values.get(name)
            try:
                value = float(text)  # type: ignore[arg-type]
            except (TypeError, ValueError, OverflowError):
                value = float("nan")
                self.node_text[(len(self.node_ids) - 1, axis)] = text  # None: absent
            self.node_xy[axis].append(value)
        self.element = None

    def _end_edge(self) -> None:
        el = self.element or {}
        label = f"edge {el.get('source')}→{el.get('target')}"
        self.edge_u.append(self._id(el.get("source"), f"{label}: source node"))
        self.edge_v.append(self._id(el.get("target"), f"{label}: target node"))
        key: object = el.get("id") or None
        if isinstance(key, str):
            with contextlib.suppress(ValueError):
                key = int(key)
        self.edge_key.append(key)
        for k, col in self.edge_values.items():
            v = self.values.get(k)
            if v is not None and k in _TAGS_INTERNED:
                v = self._interned.setdefault(v, v)
            col.append(v)
        self.element = None

    # --------------------------------------------------------------------------- result

    def parts(self) -> GraphParts:
        node_key, node_x, node_y = self._nodes()
        u = np.frombuffer(self.edge_u, dtype=np.int64)
        v = np.frombuffer(self.edge_v, dtype=np.int64)
        pos = pd.Index(node_key)
        pu, pv = pos.get_indexer(u), pos.get_indexer(v)
        undeclared = (pu < 0) | (pv < 0)
        if undeclared.any():
            i = int(np.flatnonzero(undeclared)[0])
            fail(self.source, f"edge {u[i]}→{v[i]}",
                 f"end node {u[i] if pu[i] < 0 else v[i]} is not declared as a <node>",
                 more=int(undeclared.sum()) - 1, noun="edges", advice="fix or remove the edge")
        order, keep, merged = _edge_order(pu, pv, self.edge_key, directed=self.directed)
        values = {k: _merge(col, merged) for k, col in self.edge_values.items()}
        a = np.where(self.directed, pu, np.minimum(pu, pv))[keep][order]
        b = np.where(self.directed, pv, np.maximum(pu, pv))[keep][order]
        rows = np.flatnonzero(keep)[order]
        tags: dict[str, Sequence[object]] = {}
        for c in RAW_TAG_COLUMNS:
            col = values[c]
            if c != "osmid":
                tags[c] = [None if (t := col[r]) is None else literal_value(t)
                           for r in rows.tolist()]
                continue
            ids: list[object] = []
            for i, r in enumerate(rows.tolist()):
                try:
                    ids.append(_osmid(col[r]))
                except ValueError as exc:
                    fail(self.source, f"edge {node_key[a[i]]}→{node_key[b[i]]}", str(exc))
            tags[c] = ids
        return GraphParts(
            node_key=node_key, node_x=node_x, node_y=node_y, edge_u=a, edge_v=b,
            geometry=[values["geometry"][r] for r in rows],
            length=[values["length"][r] for r in rows],
            tags=tags, crs=self.graph_data.get("crs"), source=self.source)

    def _nodes(self) -> tuple[np.ndarray, Sequence[object], Sequence[object]]:
        """Unique node ids in first-declaration order; a repeated node's later values win.

        Coordinates are float arrays, or lists holding the file's text (``None`` when
        absent) where a value is not a number, so that the message can quote it.
        """
        ids = np.frombuffer(self.node_ids, dtype=np.int64).copy()
        xy = [np.frombuffer(a, dtype=np.float64).copy() for a in self.node_xy]
        text = dict(self.node_text)
        uniq = pd.unique(ids)
        if uniq.size != ids.size:  # networkx: a repeated node updates its attributes
            code = pd.Index(uniq).get_indexer(ids).tolist()
            merged = [np.full(uniq.size, np.nan) for _ in xy]
            merged_text: dict[tuple[int, int], str | None] = {}
            seen = [np.zeros(uniq.size, dtype=bool) for _ in xy]
            for r, c in enumerate(code):
                for axis in (0, 1):
                    t = text.get((r, axis), "")
                    if t is None:  # absent in this declaration: keep the earlier value
                        continue
                    seen[axis][c] = True
                    merged[axis][c] = xy[axis][r]
                    if (r, axis) in text:
                        merged_text[(c, axis)] = t
                    else:
                        merged_text.pop((c, axis), None)
            for axis in (0, 1):
                for c in np.flatnonzero(~seen[axis]).tolist():
                    merged_text[(c, axis)] = None
            ids, xy, text = np.asarray(uniq, dtype=np.int64), merged, merged_text
        cols: list[Sequence[object]] = []
        for axis in (0, 1):
            bad = {r: t for (r, a), t in text.items() if a == axis}
            if not bad:
                cols.append(xy[axis])  # type: ignore[arg-type]
                continue
            col: list[object] = xy[axis].tolist()
            for r, t in bad.items():
                col[r] = t
            cols.append(col)
        return ids, cols[0], cols[1]


def _edge_order(pu: np.ndarray, pv: np.ndarray, keys: list[object], *,
                directed: bool) -> tuple[np.ndarray, np.ndarray, dict[int, list[int]]]:
    """networkx's edge order of a multigraph read from this file.

    Returns ``order`` (over the kept rows), ``keep`` (first row of every source/target/key)
    and ``merged`` (kept row → later rows with the same source/target/key).
    """
    a = pu if directed else np.minimum(pu, pv)
    b = pv if directed else np.maximum(pu, pv)
    n = a.size
    codes, _ = pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=True)
    codes = np.where(codes < 0, -1 - np.arange(n), codes)  # no id: always a new edge
    frame = pd.DataFrame({"a": a, "b": b, "k": codes})
    keep = ~frame.duplicated(keep="first").to_numpy()
    merged: dict[int, list[int]] = {}
    if not keep.all():
        first = frame.groupby(["a", "b", "k"], sort=False).ngroup().to_numpy()
        first_row = np.full(first.max() + 1, -1, dtype=np.int64)
        first_row[first[keep]] = np.flatnonzero(keep)
        for r in np.flatnonzero(~keep).tolist():
            merged.setdefault(int(first_row[first[r]]), []).append(r)
    pair = frame[["a", "b"]].groupby(["a", "b"], sort=False).ngroup().to_numpy()
    row = np.arange(n)
    order = np.lexsort((row[keep], pair[keep], a[keep]))
    return order, keep, merged


def _merge(col: list[str | None], merged: dict[int, list[int]]) -> list[str | None]:
    """Apply later duplicates' values (networkx ``update``) onto their first row."""
    if not merged:
        return col
    col = list(col)
    for first, later in merged.items():
        for r in later:
            if col[r] is not None:
                col[first] = col[r]
    return col


def _osmid(value: str | None) -> object:
    """``osmid`` as osmnx holds it: ``int``, or a list of them (decoded from text)."""
    if value is None:
        return None
    obj = literal_value(value)
    items = obj if isinstance(obj, list) else [obj]
    ids = []
    for item in items:
        try:
            n = int(item)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"osmid {short(value, 40)} is not an integer (or a list of "
                             "integers)") from None
        if int64_id(n) is None:
            raise ValueError(f"osmid {short(value, 40)} is outside the 64-bit range "
                             "(−2⁶³ … 2⁶³−1)")
        ids.append(n)
    return ids if isinstance(obj, list) else ids[0]


def literal_value(text: str) -> Any:
    """osmnx's decoding of a GraphML value: a bracketed literal → Python object.

    ``[...]`` / ``{...}`` values are decoded (a flat list of literals by a linear scan,
    anything else with ``ast.literal_eval`` when at most :data:`_LITERAL_EVAL_MAX`
    characters); values that do not decode stay text, as in osmnx.
    """
    if not ((text.startswith("[") and text.endswith("]"))
            or (text.startswith("{") and text.endswith("}"))):
        return text
    if text.startswith("[") and _FLAT_LIST.fullmatch(text):
        return [_token(t) for t in _TOKEN.findall(text[1:-1])]
    if len(text) <= _LITERAL_EVAL_MAX:
        with contextlib.suppress(SyntaxError, ValueError, TypeError, MemoryError,
                                 RecursionError):
            return ast.literal_eval(text)
    return text


def _token(tok: str) -> object:
    if tok in _CONSTANTS:
        return _CONSTANTS[tok]
    if tok[0] in "'\"":
        return ast.literal_eval(tok) if "\\" in tok else tok[1:-1]
    if tok.lstrip("+-").isdigit():
        return int(tok)
    return ast.literal_eval(tok)


__all__ = ["MAX_ATTRIBUTE_CHARS", "literal_value", "read_graphml"]
