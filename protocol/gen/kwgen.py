#!/usr/bin/env python3
"""kwgen: turns kwire's message schemas (protocol/schema/*.kws) into C++.

The language is described in docs/schema-language.md. For every API it writes
  include/kwire/protocol/messages/<api>.hpp   the request and response structs
  src/<api>.cpp                               their encode/decode
(a data message, which has no API key, gets the same two files with its one struct) and one
include/kwire/protocol/messages.hpp that includes them all and lists every API and data message.

Each struct gets: members with their defaults, the unknown tagged fields it keeps, a defaulted
operator==, encode/decode that branch on the version, and a `visit` template that walks the
fields with their version metadata (the round-trip tests fill and compare messages through it).

Usage: kwgen.py OUT_DIR SCHEMA.kws...
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field

MAX_VERSION = 32767

PRIMITIVES = {
    # schema type: (C++ type, minimum encoded size, writer call, reader call)
    "int8": ("std::int8_t", 1, "i8", "i8"),
    "int16": ("std::int16_t", 2, "i16", "i16"),
    "int32": ("std::int32_t", 4, "i32", "i32"),
    "int64": ("std::int64_t", 8, "i64", "i64"),
    "uint16": ("std::uint16_t", 2, "u16", "u16"),
    "uint32": ("std::uint32_t", 4, "u32", "u32"),
    "float64": ("double", 8, "f64", "f64"),
    "bool": ("bool", 1, "boolean", "boolean"),
    "uuid": ("::kwire::protocol::uuid", 16, "id", "id"),
    "string": ("std::string", 1, None, None),
    "bytes": ("::kwire::protocol::bytes", 1, None, None),
    "records": ("::kwire::protocol::bytes_view", 1, None, None),
}

CPP_KEYWORDS = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char", "class",
    "const", "continue", "default", "delete", "do", "double", "else", "enum", "explicit", "export",
    "extern", "false", "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable",
    "namespace", "new", "noexcept", "not", "operator", "or", "private", "protected", "public",
    "register", "return", "short", "signed", "sizeof", "static", "struct", "switch", "template",
    "this", "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
    "virtual", "void", "volatile", "while", "xor", "visit", "encode", "decode",
}


class SchemaError(Exception):
    pass


@dataclass
class Range:
    lo: int
    hi: int

    def contains_all(self, lo: int, hi: int) -> bool:
        return self.lo <= lo and hi <= self.hi

    def intersect(self, other: "Range") -> "Range | None":
        lo, hi = max(self.lo, other.lo), min(self.hi, other.hi)
        return Range(lo, hi) if lo <= hi else None


def parse_range(text: str, where: str) -> Range:
    m = re.fullmatch(r"(\d+)(\+|-(\d+))?", text)
    if not m:
        raise SchemaError(f"{where}: bad version range '{text}'")
    lo = int(m.group(1))
    if m.group(2) == "+":
        return Range(lo, MAX_VERSION)
    if m.group(3):
        return Range(lo, int(m.group(3)))
    return Range(lo, lo)


@dataclass
class Field:
    name: str
    type: str  # e.g. int32, string, []int32, []Topic, Topic
    versions: Range
    nullable: Range | None = None
    tag: int | None = None
    tagged: Range | None = None
    default: str | None = None
    children: list["Field"] = field(default_factory=list)
    line: int = 0

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def elem(self) -> str:
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self) -> bool:
        return self.elem[:1].isupper()

    @property
    def member(self) -> str:
        s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", self.name)
        s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s).lower()
        return s + "_" if s in CPP_KEYWORDS else s


@dataclass
class Struct:
    name: str
    fields: list[Field]


@dataclass
class Message:
    api: str
    key: int
    versions: Range
    flexible: int  # -1: never
    kind: str  # Request / Response
    fields: list[Field] = field(default_factory=list)
    shared: dict[str, Struct] = field(default_factory=dict)

    @property
    def cpp_name(self) -> str:
        return self.api + self.kind


@dataclass
class Api:
    """One schema file: an API (a request and a response) or a standalone data message (`data`:
    one struct with no API key, carried inside other messages' bytes fields)."""
    name: str
    key: int | None  # None for a data message
    versions: Range
    flexible: int
    file: str
    request: Message | None = None
    response: Message | None = None
    data: Message | None = None

    @property
    def is_data(self) -> bool:
        return self.key is None

    @property
    def messages(self) -> list[Message]:
        return [self.data] if self.is_data else [self.request, self.response]


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_field(tokens: list[str], where: str, api_versions: Range) -> Field:
    if len(tokens) < 2:
        raise SchemaError(f"{where}: a field needs a name and a type")
    name, typ = tokens[0], tokens[1]
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
        raise SchemaError(f"{where}: field name '{name}' must be CamelCase")
    elem = typ[2:] if typ.startswith("[]") else typ
    if elem not in PRIMITIVES and not re.fullmatch(r"[A-Z][A-Za-z0-9]*", elem):
        raise SchemaError(f"{where}: unknown type '{typ}'")
    f = Field(name=name, type=typ, versions=Range(api_versions.lo, api_versions.hi))
    for t in tokens[2:]:
        if re.fullmatch(r"v\d+(\+|-\d+)?", t):
            f.versions = parse_range(t[1:], where)
        elif t.startswith("nullable="):
            f.nullable = parse_range(t[len("nullable="):], where)
        elif t.startswith("tag="):
            f.tag = int(t[4:])
        elif t.startswith("tagged="):
            f.tagged = parse_range(t[len("tagged="):], where)
        elif t.startswith("default="):
            f.default = t[len("default="):]
        else:
            raise SchemaError(f"{where}: unknown attribute '{t}'")
    if f.tag is not None and f.tagged is None:
        f.tagged = Range(f.versions.lo, f.versions.hi)
    if f.nullable is not None:
        f.nullable = f.nullable.intersect(api_versions) or f.nullable
    if f.tagged is not None:
        f.tagged = f.tagged.intersect(api_versions) or f.tagged
    clipped = f.versions.intersect(api_versions)
    if clipped is None:
        raise SchemaError(f"{where}: field {name} exists in no version of the API")
    f.versions = clipped
    if f.nullable is not None:
        if elem in ("int8", "int16", "int32", "int64", "uint16", "uint32", "float64", "bool", "uuid") and not typ.startswith("[]"):
            raise SchemaError(f"{where}: {typ} cannot be nullable")
    return f


def tokenize(line: str) -> list[str]:
    # Split on whitespace, keeping "double quoted" defaults whole.
    return re.findall(r'default="[^"]*"|\S+', line)


def parse_file(path: str) -> Api:
    with open(path, encoding="utf-8") as fh:
        raw = fh.read().splitlines()
    api: Api | None = None
    versions: Range | None = None
    flexible: int | None = None
    msg: Message | None = None
    # stack of (indent, children list, owner Field|None)
    stack: list[tuple[int, list[Field]]] = []
    pending_struct: tuple[int, Struct] | None = None
    last_field: Field | None = None
    last_indent = 0

    for n, line in enumerate(raw, 1):
        where = f"{path}:{n}"
        code = re.sub(r'\s+#.*$|^#.*$', "", line).rstrip()
        if not code.strip():
            continue
        indent = len(code) - len(code.lstrip(" "))
        if indent % 2:
            raise SchemaError(f"{where}: indentation must be a multiple of two spaces")
        tokens = tokenize(code.strip())
        if indent == 0:
            kw = tokens[0]
            if kw == "api":
                api = Api(name=tokens[1], key=int(tokens[2]), versions=Range(0, 0), flexible=-1, file=path)
            elif kw == "data":
                api = Api(name=tokens[1], key=None, versions=Range(0, 0), flexible=-1, file=path)
            elif kw == "versions":
                versions = parse_range(tokens[1], where)
            elif kw == "flexible":
                flexible = -1 if tokens[1] == "none" else parse_range(tokens[1], where).lo
            elif kw in ("request", "response", "fields"):
                if api is None or versions is None or flexible is None:
                    raise SchemaError(f"{where}: 'api' or 'data', 'versions' and 'flexible' must come first")
                if (kw == "fields") != api.is_data:
                    raise SchemaError(f"{where}: an api has request and response sections, a data message one fields section")
                api.versions, api.flexible = versions, flexible
                msg = Message(api=api.name, key=api.key if api.key is not None else -1, versions=versions,
                              flexible=flexible, kind="" if api.is_data else kw.capitalize())
                setattr(api, "data" if api.is_data else kw, msg)
                stack = [(2, msg.fields)]
                last_field = None
            else:
                raise SchemaError(f"{where}: unknown keyword '{kw}'")
            continue
        if msg is None:
            raise SchemaError(f"{where}: field outside a request, response or fields section")
        if tokens[0] == "struct":
            if indent != 2:
                raise SchemaError(f"{where}: 'struct' blocks belong at the top of a section")
            s = Struct(name=tokens[1], fields=[])
            if s.name in msg.shared:
                raise SchemaError(f"{where}: struct {s.name} defined twice")
            msg.shared[s.name] = s
            stack = [(2, msg.fields), (4, s.fields)]
            last_field = None
            continue
        # Pop back to this indentation level; a deeper one opens the previous field's children.
        while stack and indent < stack[-1][0]:
            stack.pop()
        if not stack:
            raise SchemaError(f"{where}: bad indentation")
        if indent > stack[-1][0]:
            if last_field is None or indent != stack[-1][0] + 2 or not last_field.is_struct:
                raise SchemaError(f"{where}: unexpected indentation")
            stack.append((indent, last_field.children))
        f = parse_field(tokens, where, msg.versions)
        f.line = n
        stack[-1][1].append(f)
        last_field = f

    if api is None or (api.data is None if api.is_data else (api.request is None or api.response is None)):
        raise SchemaError(f"{path}: needs an api line with request and response sections, or a data line with a fields section")
    for m in api.messages:
        check_structs(m, m.fields, path)
        for s in m.shared.values():
            check_structs(m, s.fields, path)
    return api


def check_structs(msg: Message, fields: list[Field], path: str) -> None:
    for f in fields:
        if f.is_struct:
            if f.children:
                if f.elem in msg.shared:
                    raise SchemaError(f"{path}:{f.line}: {f.elem} is a shared struct; it takes no children")
                check_structs(msg, f.children, path)
            elif f.elem not in msg.shared:
                raise SchemaError(f"{path}:{f.line}: struct {f.elem} has no fields and no 'struct' block")
        elif f.children:
            raise SchemaError(f"{path}:{f.line}: {f.type} cannot have children")
        if f.tag is not None and msg.flexible < 0:
            raise SchemaError(f"{path}:{f.line}: tagged field in an API that is never flexible")


# ---------------------------------------------------------------------------------------------
# C++ emission


def version_cond(r: Range, outer: Range, var: str = "v") -> str | None:
    """A C++ condition for `var in r`, given that var is already known to be in `outer`."""
    parts = []
    if r.lo > outer.lo:
        parts.append(f"{var} >= {r.lo}")
    if r.hi < outer.hi:
        parts.append(f"{var} <= {r.hi}")
    return " && ".join(parts) if parts else None


# Nested structs are emitted at namespace scope as <Message>_<Struct> (with an alias inside the
# message): a nested class's default member initializers are parsed only once the enclosing
# class is complete, and clang caches `is_constructible<Nested>` as false if the enclosing class
# asks for it earlier (std::optional<Nested> members do). Namespace-scope structs are complete.
STRUCT_PREFIX = [""]


def cpp_elem_type(f: Field) -> str:
    return STRUCT_PREFIX[0] + f.elem if f.is_struct else PRIMITIVES[f.elem][0]


def is_optional(f: Field) -> bool:
    if f.type == "records":
        return True
    return f.nullable is not None


def cpp_type(f: Field) -> str:
    t = cpp_elem_type(f)
    if f.is_array:
        t = f"std::vector<{t}>"
    return f"std::optional<{t}>" if is_optional(f) else t


def cpp_default_init(f: Field) -> str:
    """Member initializer following Kafka's rules: explicit defaults, else zero/empty; nullable
    fields are empty-but-present unless their default is null."""
    d = f.default
    if is_optional(f):
        if f.type == "records" or d == "null":
            return "{}"
        inner = cpp_default_value(f, d)
        return f"{{{inner}}}" if inner else f"{{std::in_place}}"
    v = cpp_default_value(f, d)
    return f"{{{v}}}" if v else "{}"


def cpp_default_value(f: Field, d: str | None) -> str:
    if d is None or f.is_array or f.is_struct:
        if d not in (None, "null") and (f.is_array or f.is_struct):
            raise SchemaError(f"line {f.line}: arrays and structs take no default but null")
        return ""
    if f.elem == "bool":
        if d not in ("true", "false"):
            raise SchemaError(f"line {f.line}: bool default must be true or false")
        return d
    if f.elem == "string":
        if d == "null":
            return ""
        if not (d.startswith('"') and d.endswith('"')):
            raise SchemaError(f"line {f.line}: string default must be quoted")
        return d if d != '""' else ""
    if f.elem in ("int8", "int16", "int32", "int64", "uint16", "uint32", "float64"):
        if not re.fullmatch(r"-?(0x[0-9a-fA-F]+|\d+(\.\d+)?)", d):
            raise SchemaError(f"line {f.line}: bad numeric default '{d}'")
        if f.elem == "int64" and d.startswith("-") and int(d, 0) == -(2**63):
            return "INT64_MIN"
        return d
    raise SchemaError(f"line {f.line}: type {f.elem} takes no default")


def min_size(f: Field, msg: Message, flexible: bool) -> int:
    """Smallest number of bytes one element of this field can take on the wire (for array count
    checks before allocation). A lower bound across versions."""
    if f.is_struct:
        fields = f.children or msg.shared[f.elem].fields
        total = sum(min_field_size(c, msg, flexible) for c in fields if c.tag is None)
        return max(1, total)
    return PRIMITIVES[f.elem][1]


def min_field_size(f: Field, msg: Message, flexible: bool) -> int:
    if f.versions.lo > msg.versions.lo or f.versions.hi < msg.versions.hi:
        return 0  # absent in some version
    if f.is_array or f.elem in ("string", "bytes", "records"):
        return 1
    if f.is_struct:
        return min_size(f, msg, flexible)
    return PRIMITIVES[f.elem][1]


class Emitter:
    def __init__(self, api: Api):
        self.aliases: list[str] = []
        self.api = api
        self.h: list[str] = []
        self.cpp: list[str] = []

    # -- declarations --------------------------------------------------------------------------
    def struct_decls(self, msg: Message, fields: list[Field], indent: str, seen: set[str]) -> None:
        """Nested struct types, children before parents (a std::optional<T> or T member needs T
        complete)."""
        for name, s in msg.shared.items():
            if name not in seen:
                seen.add(name)
                self.struct_decl(msg, name, s.fields, indent, seen)
        self.struct_decls_of(msg, fields, indent, seen)

    def struct_decls_of(self, msg: Message, fields: list[Field], indent: str, seen: set[str]) -> None:
        for f in fields:
            if f.is_struct and f.children:
                if f.elem in seen:
                    raise SchemaError(f"{self.api.file}:{f.line}: struct name {f.elem} used twice in {msg.cpp_name}")
                seen.add(f.elem)
                self.struct_decl(msg, f.elem, f.children, indent, seen)

    def struct_decl(self, msg: Message, name: str, fields: list[Field], indent: str, seen: set[str]) -> None:
        self.struct_decls_of(msg, fields, indent, seen)
        h = self.h
        full = f"{msg.cpp_name}_{name}"
        h.append(f"{indent}struct {full} {{")
        self.members(fields, indent + "    ")
        h.append(f"{indent}    friend bool operator==(const {full}&, const {full}&) = default;")
        self.visit_decl(fields, indent + "    ")
        h.append(f"{indent}}};")
        h.append("")
        self.aliases.append(name)

    def members(self, fields: list[Field], indent: str) -> None:
        for f in fields:
            self.h.append(f"{indent}{cpp_type(f)} {f.member}{cpp_default_init(f)};")
        self.h.append(f"{indent}::kwire::protocol::tagged_fields unknown_tagged_fields;")

    def visit_decl(self, fields: list[Field], indent: str) -> None:
        h = self.h
        h.append(f"{indent}/// Calls f(meta, member) for every field, in wire order.")
        h.append(f"{indent}template <class Self, class F> static void visit(Self& self, F&& f) {{")
        for fl in fields:
            nl = f"{fl.nullable.lo}, {fl.nullable.hi}" if fl.nullable else "-1, -1"
            tag = fl.tag if fl.tag is not None else -1
            h.append(f'{indent}    f(::kwire::protocol::field_meta{{"{fl.name}", {fl.versions.lo}, {fl.versions.hi}, {nl}, {tag}}}, self.{fl.member});')
        h.append(f"{indent}}}")

    # -- encode --------------------------------------------------------------------------------
    def encode_value(self, msg: Message, f: Field, expr: str, w: str, flex: str, out: list[str], ind: str) -> None:
        """Encode one value of field f (not the optional wrapper) held in `expr`."""
        if f.is_array:
            out.append(f"{ind}{w}.array_length({expr}.size(), {flex});")
            out.append(f"{ind}for (const auto& e : {expr}) {{")
            self.encode_elem(msg, f, "e", w, flex, out, ind + "    ")
            out.append(f"{ind}}}")
        else:
            self.encode_elem(msg, f, expr, w, flex, out, ind)

    def encode_elem(self, msg: Message, f: Field, expr: str, w: str, flex: str, out: list[str], ind: str) -> None:
        e = f.elem
        if f.is_struct:
            out.append(f"{ind}encode_{self.fn(msg, e)}({w}, {expr}, v);")
        elif e == "string":
            out.append(f"{ind}{w}.string({expr}, {flex});")
        elif e in ("bytes", "records"):
            out.append(f"{ind}{w}.bytes({expr}, {flex});")
        else:
            out.append(f"{ind}{w}.{PRIMITIVES[e][2]}({expr});")

    def encode_null(self, f: Field, w: str, flex: str) -> str:
        if f.is_array:
            return f"{w}.null_array({flex});"
        if f.elem == "string":
            return f"{w}.null_string({flex});"
        if f.elem in ("bytes", "records"):
            return f"{w}.null_bytes({flex});"
        if f.is_struct:
            return f"{w}.i8(-1);"
        raise SchemaError(f"{f.name}: cannot be null")

    def encode_empty(self, f: Field, w: str, flex: str) -> str:
        if f.is_array:
            return f"{w}.array_length(0, {flex});"
        if f.elem == "string":
            return f"{w}.string_length(0, {flex});"
        if f.elem in ("bytes", "records"):
            return f"{w}.bytes_length(0, {flex});"
        raise SchemaError(f"{f.name}: no empty form")

    def encode_field(self, msg: Message, f: Field, obj: str, w: str, flex: str, out: list[str], ind: str) -> None:
        expr = f"{obj}.{f.member}"
        if not is_optional(f):
            self.encode_value(msg, f, expr, w, flex, out, ind)
            return
        nullable_cond = self.nullable_cond(f)
        if f.is_struct and not f.is_array:
            # Nullable struct: an INT8 marker (-1 null, 1 present) precedes it in the versions
            # where it may be null; elsewhere it is written bare (a null one as its defaults).
            fn = f"encode_{self.fn(msg, f.elem)}"
            out.append(f"{ind}if ({nullable_cond}) {{")
            out.append(f"{ind}    if (!{expr}) {{ {w}.i8(-1); }} else {{ {w}.i8(1); {fn}({w}, *{expr}, v); }}")
            out.append(f"{ind}}} else {{")
            out.append(f"{ind}    {fn}({w}, {expr} ? *{expr} : {cpp_elem_type(f)}{{}}, v);")
            out.append(f"{ind}}}")
            return
        out.append(f"{ind}if ({expr}) {{")
        self.encode_value(msg, f, f"(*{expr})", w, flex, out, ind + "    ")
        if nullable_cond == "true":
            out.append(f"{ind}}} else {{")
            out.append(f"{ind}    {self.encode_null(f, w, flex)}")
        else:
            out.append(f"{ind}}} else if ({nullable_cond}) {{")
            out.append(f"{ind}    {self.encode_null(f, w, flex)}")
            out.append(f"{ind}}} else {{")
            out.append(f"{ind}    {self.encode_empty(f, w, flex)}")
        out.append(f"{ind}}}")

    def nullable_cond(self, f: Field) -> str:
        if f.type == "records" and f.nullable is None:
            return "true"
        c = version_cond(f.nullable, f.versions) if f.nullable else "false"
        return c if c is not None else "true"

    def fn(self, msg: Message, struct: str) -> str:
        return f"{msg.cpp_name}_{struct}"

    def qualified(self, msg: Message, struct: str) -> str:
        return f"{msg.cpp_name}::{struct}"

    def body_fields(self, msg: Message, fields: list[Field], out: list[str], emit) -> None:
        """The part encode and decode share: the `flex` flag, then every untagged field in wire
        order, guarded by its versions; `emit(field, out, indent)` writes one field."""
        out.append("    const bool flex = is_flexible(v, %d);" % msg.flexible if msg.flexible >= 0 else "    constexpr bool flex = false;")
        for f in fields:
            if f.tag is not None:
                continue
            cond = version_cond(f.versions, msg.versions)
            if cond:
                out.append(f"    if ({cond}) {{")
                emit(f, out, "        ")
                out.append("    }")
            else:
                emit(f, out, "    ")

    def encode_body(self, msg: Message, fields: list[Field], obj: str, out: list[str]) -> None:
        self.body_fields(msg, fields, out, lambda f, o, ind: self.encode_field(msg, f, obj, "w", "flex", o, ind))
        if msg.flexible >= 0:
            out.append("    if (flex) {")
            out.append(f"        tagged_writer tw(w, {obj}.unknown_tagged_fields);")
            for f in sorted((f for f in fields if f.tag is not None), key=lambda f: f.tag):
                cond = version_cond(f.tagged, msg.versions) or "true"
                default = f"std::remove_cvref_t<decltype({obj}.{f.member})>{cpp_default_init(f)}"
                out.append(f"        if (({cond}) && !({obj}.{f.member} == {default})) {{")
                out.append(f"            tw.add({f.tag}, [&](writer& tw_w) {{")
                sub: list[str] = []
                self.encode_field(msg, f, obj, "tw_w", "true", sub, "                ")
                out.extend(sub)
                out.append("            });")
                out.append("        }")
            out.append("        tw.finish();")
            out.append("    }")
        else:
            out.append("    (void)flex; (void)v;")

    # -- decode --------------------------------------------------------------------------------
    def decode_elem(self, msg: Message, f: Field, target: str, r: str, flex: str, out: list[str], ind: str, nullable: bool) -> None:
        e = f.elem
        if f.is_struct:
            out.append(f"{ind}decode_{self.fn(msg, e)}({r}, {target}, v);")
        elif e == "string":
            out.append(f"{ind}{target} = {r}.string({flex});")
        elif e == "bytes":
            out.append(f"{ind}{{ const auto b = {r}.blob({flex}); {target}.assign(b.begin(), b.end()); }}")
        elif e == "records":
            out.append(f"{ind}{target} = {r}.blob({flex});")
        else:
            out.append(f"{ind}{target} = {r}.{PRIMITIVES[e][3]}();")

    def decode_field(self, msg: Message, f: Field, obj: str, r: str, flex: str, out: list[str], ind: str) -> None:
        expr = f"{obj}.{f.member}"
        opt = is_optional(f)
        nc = self.nullable_cond(f) if opt else "false"
        if f.is_struct and not f.is_array:
            if opt:
                fn = f"decode_{self.fn(msg, f.elem)}"
                out.append(f"{ind}if (({nc}) && {r}.i8() < 0) {{ {expr}.reset(); }} else {{ {expr}.emplace(); {fn}({r}, *{expr}, v); }}")
            else:
                out.append(f"{ind}decode_{self.fn(msg, f.elem)}({r}, {expr}, v);")
            return
        if f.is_array:
            ms = min_size(f, msg, True)
            out.append(f"{ind}{{")
            out.append(f"{ind}    const auto n = {r}.array_length({flex}, {ms});")
            out.append(f"{ind}    if (n < 0) {{")
            if opt:
                out.append(f"{ind}        if ({nc}) {expr}.reset(); else {r}.fail(errc::negative_length);")
            else:
                out.append(f"{ind}        {r}.fail(errc::negative_length);")
            out.append(f"{ind}    }} else {{")
            tgt = f"(*{expr})" if opt else expr
            if opt:
                out.append(f"{ind}        {expr}.emplace();")
            out.append(f"{ind}        {tgt}.clear();")
            out.append(f"{ind}        {tgt}.reserve(static_cast<std::size_t>(n));")
            out.append(f"{ind}        for (std::int64_t i = 0; i < n && {r}.ok(); ++i) {{")
            self.decode_elem(msg, f, f"{tgt}.emplace_back()", r, flex, out, ind + "            ", False)
            out.append(f"{ind}        }}")
            out.append(f"{ind}    }}")
            out.append(f"{ind}}}")
            return
        if not opt:
            self.decode_elem(msg, f, expr, r, flex, out, ind, False)
            return
        # Optional scalar-ish: string, bytes, records.
        e = f.elem
        if e == "string":
            out.append(f"{ind}if ({nc}) {expr} = {r}.nullable_string({flex}); else {expr} = {r}.string({flex});")
        elif e == "records":
            out.append(f"{ind}if ({nc}) {expr} = {r}.nullable_blob({flex}); else {expr} = {r}.blob({flex});")
        elif e == "bytes":
            out.append(f"{ind}{{")
            out.append(f"{ind}    std::optional<bytes_view> b;")
            out.append(f"{ind}    if ({nc}) b = {r}.nullable_blob({flex}); else b = {r}.blob({flex});")
            out.append(f"{ind}    if (b) {expr}.emplace(b->begin(), b->end()); else {expr}.reset();")
            out.append(f"{ind}}}")
        else:
            raise SchemaError(f"{f.name}: unexpected nullable type")

    def decode_body(self, msg: Message, fields: list[Field], obj: str, out: list[str]) -> None:
        self.body_fields(msg, fields, out, lambda f, o, ind: self.decode_field(msg, f, obj, "r", "flex", o, ind))
        if msg.flexible >= 0:
            tagged = sorted((f for f in fields if f.tag is not None), key=lambda f: f.tag)
            out.append("    if (flex && r.ok()) {")
            out.append(f"        read_tagged_fields(r, {obj}.unknown_tagged_fields, [&](std::uint32_t tag, reader& tr) {{")
            if tagged:
                out.append("            switch (tag) {")
                for f in tagged:
                    cond = version_cond(f.tagged, msg.versions) or "true"
                    out.append(f"                case {f.tag}:")
                    out.append(f"                    if (!({cond})) return false;")
                    sub: list[str] = []
                    self.decode_field(msg, f, obj, "tr", "true", sub, "                    ")
                    out.extend(sub)
                    out.append("                    return true;")
                out.append("                default: return false;")
                out.append("            }")
            else:
                out.append("            (void)tag; (void)tr;")
                out.append("            return false;")
            out.append("        });")
            out.append("    }")
        else:
            out.append("    (void)flex; (void)v;")

    # -- per-struct functions ------------------------------------------------------------------
    def struct_functions(self, msg: Message, name: str, fields: list[Field], done: set[str]) -> None:
        for f in fields:
            if f.is_struct and f.children and f.elem not in done:
                done.add(f.elem)
                self.struct_functions(msg, f.elem, f.children, done)
        q = self.qualified(msg, name)
        c = self.cpp
        c.append(f"void encode_{self.fn(msg, name)}(writer& w, const {q}& s, std::int16_t v) {{")
        self.encode_body(msg, fields, "s", c)
        c.append("}")
        c.append("")
        c.append(f"void decode_{self.fn(msg, name)}(reader& r, {q}& s, std::int16_t v) {{")
        self.decode_body(msg, fields, "s", c)
        c.append("}")
        c.append("")

    def forward_decls(self, msg: Message, fields: list[Field], done: set[str]) -> None:
        for f in fields:
            if f.is_struct and f.children and f.elem not in done:
                done.add(f.elem)
                self.forward_decls(msg, f.children, done)
        for name in list(msg.shared):
            if name not in done:
                done.add(name)
                self.forward_decls(msg, msg.shared[name].fields, done)

    def message(self, msg: Message) -> None:
        h = self.h
        api = self.api
        name = msg.cpp_name
        STRUCT_PREFIX[0] = name + "_"
        self.aliases = []
        self.struct_decls(msg, msg.fields, "", set())
        h.append(f"struct {name} {{")
        for a in self.aliases:
            h.append(f"    using {a} = {name}_{a};")
        if api.is_data:
            h.append(f'    static constexpr std::string_view data_name = "{api.name}";')
        else:
            h.append(f"    static constexpr std::int16_t api_key = {api.key};")
            h.append(f'    static constexpr std::string_view api_name = "{api.name}";')
        h.append(f"    static constexpr std::int16_t min_version = {api.versions.lo};")
        h.append(f"    static constexpr std::int16_t max_version = {api.versions.hi};")
        h.append(f"    static constexpr std::int16_t first_flexible = {api.flexible};")
        if msg.kind == "Request":
            h.append(f"    using response_type = {api.name}Response;")
        elif msg.kind == "Response":
            h.append(f"    using request_type = {api.name}Request;")
        h.append("")
        self.members(msg.fields, "    ")
        h.append("")
        h.append("    void encode(::kwire::protocol::writer& w, std::int16_t version) const;")
        h.append("    void decode(::kwire::protocol::reader& r, std::int16_t version);")
        h.append(f"    friend bool operator==(const {name}&, const {name}&) = default;")
        self.visit_decl(msg.fields, "    ")
        h.append("};")
        h.append("")

        # Definitions: nested struct functions (declared first: shared structs may be used
        # before their definitions), then the message's own encode/decode.
        c = self.cpp
        c.append("namespace {")
        c.append("")
        all_structs = self.collect_structs(msg)
        for sname in all_structs:
            q = self.qualified(msg, sname)
            c.append(f"void encode_{self.fn(msg, sname)}(writer& w, const {q}& s, std::int16_t v);")
            c.append(f"void decode_{self.fn(msg, sname)}(reader& r, {q}& s, std::int16_t v);")
        c.append("")
        done: set[str] = set()
        for sname, s in msg.shared.items():
            if sname not in done:
                done.add(sname)
                self.struct_functions(msg, sname, s.fields, done)
        for f in msg.fields:
            if f.is_struct and f.children and f.elem not in done:
                done.add(f.elem)
                self.struct_functions(msg, f.elem, f.children, done)
        c.append("}  // namespace")
        c.append("")
        c.append(f"void {name}::encode(writer& w, std::int16_t v) const {{")
        self.encode_body(msg, msg.fields, "(*this)", c)
        c.append("}")
        c.append("")
        c.append(f"void {name}::decode(reader& r, std::int16_t v) {{")
        self.decode_body(msg, msg.fields, "(*this)", c)
        c.append("}")
        c.append("")

    def collect_structs(self, msg: Message) -> list[str]:
        out: list[str] = list(msg.shared)

        def walk(fields: list[Field]) -> None:
            for f in fields:
                if f.is_struct and f.children:
                    out.append(f.elem)
                    walk(f.children)
        for s in msg.shared.values():
            walk(s.fields)
        walk(msg.fields)
        return out


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def write_if_changed(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


HEADER_PRELUDE = """// Generated by protocol/gen/kwgen.py from {src}. Do not edit.
#pragma once

#include <cstdint>
#include <type_traits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/protocol/field_meta.hpp"
#include "kwire/protocol/tagged.hpp"
#include "kwire/protocol/types.hpp"
#include "kwire/protocol/wire.hpp"

namespace kwire::protocol {{
{forward}
"""


def generate(out_dir: str, schema_files: list[str]) -> None:
    apis = [parse_file(p) for p in schema_files]
    for a in apis:
        stem = os.path.splitext(os.path.basename(a.file))[0]
        if stem != snake(a.name):
            raise SchemaError(f"{a.file}: the file of API {a.name} must be named {snake(a.name)}.kws")
    datas = sorted((a for a in apis if a.is_data), key=lambda a: a.name)
    apis = [a for a in apis if not a.is_data]
    keys: dict[int, str] = {}
    for a in apis:
        if a.key in keys:
            raise SchemaError(f"{a.file}: API key {a.key} also used by {keys[a.key]}")
        keys[a.key] = a.name
    apis.sort(key=lambda a: a.key)

    for a in apis + datas:
        em = Emitter(a)
        forward = "" if a.is_data else f"\nstruct {a.name}Response;\n"
        em.h.append(HEADER_PRELUDE.format(src=os.path.basename(a.file), forward=forward).rstrip("\n"))
        em.h.append("")
        for m in a.messages:
            em.message(m)
        em.h.append("}  // namespace kwire::protocol")
        stem = snake(a.name)
        header = "\n".join(em.h) + "\n"
        source = "\n".join([
            f"// Generated by protocol/gen/kwgen.py from {os.path.basename(a.file)}. Do not edit.",
            f'#include "kwire/protocol/messages/{stem}.hpp"',
            '#include "kwire/protocol/frame.hpp"',
            "",
            "namespace kwire::protocol {",
            "",
            *em.cpp,
            "}  // namespace kwire::protocol",
            "",
        ])
        write_if_changed(os.path.join(out_dir, "include/kwire/protocol/messages", stem + ".hpp"), header)
        write_if_changed(os.path.join(out_dir, "src", stem + ".cpp"), source)

    lines = ["// Generated by protocol/gen/kwgen.py. Do not edit.",
             "// Every API kwire speaks and every data message: include this to get all their types.",
             "#pragma once", "", "#include <array>", "#include <cstdint>", "#include <string_view>", ""]
    for a in apis + datas:
        lines.append(f'#include "kwire/protocol/messages/{snake(a.name)}.hpp"')
    lines += ["", "namespace kwire::protocol {", "",
              "struct api_info {",
              "    std::int16_t key;",
              "    std::string_view name;",
              "    std::int16_t min_version;",
              "    std::int16_t max_version;",
              "    std::int16_t first_flexible;",
              "};", "",
              f"inline constexpr std::array<api_info, {len(apis)}> all_apis{{{{"]
    for a in apis:
        lines.append(f'    {{{a.key}, "{a.name}", {a.versions.lo}, {a.versions.hi}, {a.flexible}}},')
    lines += ["}};", "",
              "/// The API with this key, or nullptr.",
              "constexpr const api_info* find_api(std::int16_t key) noexcept {",
              "    for (const auto& a : all_apis)",
              "        if (a.key == key) return &a;",
              "    return nullptr;",
              "}", "",
              "/// Calls f.template operator()<Request, Response>() for every API, in key order.",
              "template <class F> void for_each_api(F&& f) {"]
    for a in apis:
        lines.append(f"    f.template operator()<{a.name}Request, {a.name}Response>();")
    lines += ["}", "",
              "/// Calls f.template operator()<Data>() for every data message (no API key; carried",
              "/// inside other messages' bytes fields), in name order.",
              "template <class F> void for_each_data(F&& f) {"]
    for a in datas:
        lines.append(f"    f.template operator()<{a.name}>();")
    if not datas:
        lines.append("    (void)f;")
    lines += ["}", "", "}  // namespace kwire::protocol", ""]
    write_if_changed(os.path.join(out_dir, "include/kwire/protocol/messages.hpp"), "\n".join(lines))


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        generate(argv[1], argv[2:])
    except SchemaError as e:
        print(f"kwgen: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
