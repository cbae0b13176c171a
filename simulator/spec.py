"""The Bot API specification (botapi.json): lookup, form-value coercion and validation."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import orjson

_CONST_RE = re.compile(r'(?:always|must be)\s+[“"]?([a-z_]+)[”"]?')
_DISCRIMINATORS = ("type", "status", "source")
_INT_RE = re.compile(r"-?\d+")
# A compiled check: whether a value matches (the error messages come from the full walk).
Check = Callable[[Any], bool]


@dataclass(frozen=True)
class Upload:
    """A file uploaded in a multipart request."""

    filename: str
    content: bytes
    content_type: str


class Spec:
    """Methods and types of one Bot API version, with validators."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = data["version"]
        self.methods: dict[str, Any] = data["methods"]
        self.types: dict[str, Any] = data["types"]
        self._lower = {name.lower(): name for name in self.methods}
        self._constants = {name: self._type_constants(t) for name, t in self.types.items()}
        self._fields: dict[str, dict[str, dict[str, Any]]] = {}
        self._checks: dict[str, Check] = {}
        self._unions: dict[tuple[str, ...], Check] = {}

    @staticmethod
    def _type_constants(t: dict[str, Any]) -> dict[str, str]:
        found: dict[str, str] = {}
        for f in t.get("fields", []):
            if f["name"] in _DISCRIMINATORS and f["types"] == ["String"]:
                m = _CONST_RE.search(f["description"])
                if m:
                    found[f["name"]] = m.group(1)
        return found

    def method_name(self, name: str) -> str | None:
        """The canonical spelling of a method, or None if it is not in the spec."""
        return self._lower.get(name.lower())

    def returns(self, method: str) -> list[str]:
        """The return types of a method."""
        return list(self.methods[method].get("returns", []))

    def fields(self, name: str) -> dict[str, dict[str, Any]]:
        """Fields of a method or type, by name (one dict per name, built once: do not change
        it)."""
        found = self._fields.get(name)
        if found is None:
            obj = self.methods.get(name) or self.types[name]
            found = self._fields[name] = {f["name"]: f for f in obj.get("fields", [])}
        return found

    # -- request parameters -------------------------------------------------------------

    def check_params(
        self, method: str, raw: dict[str, Any], form: bool
    ) -> tuple[dict[str, Any], list[str]]:
        """Coerce (if `form`) and validate request parameters; return (params, errors)."""
        fields = self.fields(method)
        params: dict[str, Any] = {}
        errors: list[str] = []
        for name, value in raw.items():
            spec_field = fields.get(name)
            if spec_field is None:
                errors.append(f'unknown parameter "{name}"')
                continue
            types = spec_field["types"]
            if form and isinstance(value, str):
                value = self.coerce_form_value(value, types)
            if not self.matches(value, types):
                errors.extend(self.validate(value, types, name))
            params[name] = value
        for name, spec_field in fields.items():
            if spec_field["required"] and name not in raw:
                errors.append(f'parameter "{name}" is required')
        return params, errors

    def coerce_form_value(self, text: str, types: list[str]) -> Any:
        """Turn a form string into the value it encodes for the given spec types."""
        for t in types:
            if t == "Integer" and _INT_RE.fullmatch(text):
                return int(text)
            if t == "Float":
                try:
                    return float(text)
                except ValueError:
                    pass
            if t in ("Boolean", "True") and text.lower() in ("true", "false"):
                return text.lower() == "true"
            if t.startswith("Array of") or (t in self.types and t != "InputFile"):
                try:
                    decoded = orjson.loads(text)
                except ValueError:
                    continue
                if isinstance(decoded, dict | list):
                    return decoded
        return text

    # -- values ---------------------------------------------------------------------------

    def validate(self, value: Any, types: list[str], path: str) -> list[str]:
        """Errors of `value` against any of `types` (empty when one of them matches)."""
        if self.matches(value, types):
            return []
        return self._errors(value, types, path)

    def _errors(self, value: Any, types: list[str], path: str) -> list[str]:
        best: list[str] | None = None
        for t in types:
            errors = self._check(value, t, path)
            if not errors:
                return []
            if best is None or len(errors) < len(best):
                best = errors
        if not isinstance(value, dict | list) or best is None:
            return [f'parameter "{path}" must be of type {" or ".join(types)}']
        return best

    def _check(self, value: Any, t: str, path: str) -> list[str]:
        scalar = _check_scalar(value, t)
        if scalar is not None:
            return [] if scalar else [f'parameter "{path}" must be of type {t}']
        if t.startswith("Array of "):
            if not isinstance(value, list):
                return [f'parameter "{path}" must be an Array']
            inner = t[len("Array of ") :]
            errors: list[str] = []
            for i, item in enumerate(value):
                errors.extend(self._errors(item, [inner], f"{path}[{i}]"))
            return errors
        spec_type = self.types.get(t)
        if spec_type is None:
            return [f'parameter "{path}" has unknown type {t}']
        if "subtypes" in spec_type:
            return self._errors(value, spec_type["subtypes"], path)
        if not isinstance(value, dict):
            return [f'parameter "{path}" must be an object of type {t}']
        return self._check_object(value, t, path)

    def _check_object(self, value: dict[str, Any], t: str, path: str) -> list[str]:
        for key, const in self._constants[t].items():
            if value.get(key) != const:
                return [f'parameter "{path}.{key}" must be "{const}" for {t}']
        fields = self.fields(t)
        errors: list[str] = []
        for key, item in value.items():
            f = fields.get(key)
            if f is None:
                errors.append(f'unknown field "{path}.{key}" in {t}')
            else:
                errors.extend(self._errors(item, f["types"], f"{path}.{key}"))
        for key, f in fields.items():
            if f["required"] and key not in value:
                errors.append(f'field "{path}.{key}" is required in {t}')
        return errors

    # -- compiled checks ----------------------------------------------------------------
    # The same rules as the walk above, built once per type into closures: a value that
    # matches costs one call per node and no error strings; only a value that does not match
    # walks the spec again (`_errors`) to say why.

    def matches(self, value: Any, types: list[str]) -> bool:
        """Whether `value` matches one of `types` (exactly when `validate` finds no error)."""
        return self._union(tuple(types))(value)

    def _union(self, types: tuple[str, ...]) -> Check:
        check = self._unions.get(types)
        if check is None:
            checks = [self._type_check(t) for t in types]
            if len(checks) == 1:
                check = checks[0]
            else:

                def check(value: Any) -> bool:
                    for c in checks:  # noqa: SIM110 - a loop: no generator on the hot path
                        if c(value):
                            return True
                    return False

            self._unions[types] = check
        return check

    def _type_check(self, t: str) -> Check:
        check = self._checks.get(t)
        if check is not None:
            return check
        built: list[Check] = []

        def forward(value: Any) -> bool:  # stands in for `t` while its own fields are built
            return built[0](value)

        self._checks[t] = forward
        built.append(self._build_check(t))
        self._checks[t] = built[0]
        return built[0]

    def _build_check(self, t: str) -> Check:
        scalar = _SCALAR_CHECKS.get(t)
        if scalar is not None:
            return scalar
        if t.startswith("Array of "):
            inner = self._type_check(t[len("Array of ") :])

            def array(value: Any) -> bool:
                if not isinstance(value, list):
                    return False
                for item in value:  # noqa: SIM110 - a loop: no generator on the hot path
                    if not inner(item):
                        return False
                return True

            return array
        spec_type = self.types.get(t)
        if spec_type is None:
            return lambda value: False
        if "subtypes" in spec_type:
            return self._union(tuple(spec_type["subtypes"]))
        return self._object_check(t)

    def _object_check(self, t: str) -> Check:
        constants = tuple(self._constants[t].items())
        fields = self.fields(t)
        required = frozenset(k for k, f in fields.items() if f["required"])
        checks = {k: self._union(tuple(f["types"])) for k, f in fields.items()}

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return False
            for key, const in constants:
                if value.get(key) != const:
                    return False
            for key, item in value.items():
                field_check = checks.get(key)
                if field_check is None or not field_check(item):
                    return False
            return required <= value.keys()

        return check


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_float(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_SCALAR_CHECKS: dict[str, Check] = {
    "Integer": _is_integer,
    "Float": _is_float,
    "String": lambda value: isinstance(value, str),
    "Boolean": lambda value: isinstance(value, bool),
    "True": lambda value: value is True,
    "InputFile": lambda value: isinstance(value, Upload),
}


def _check_scalar(value: Any, t: str) -> bool | None:
    """True/False for scalar spec types, None when `t` is not scalar."""
    if t == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if t == "String":
        return isinstance(value, str)
    if t == "Boolean":
        return isinstance(value, bool)
    if t == "True":
        return value is True
    if t == "InputFile":
        return isinstance(value, Upload)
    return None


@cache
def load_spec() -> Spec:
    """The bundled Bot API spec."""
    text = resources.files("simulator").joinpath("data/botapi.json").read_text(encoding="utf-8")
    return Spec(orjson.loads(text))
