"""The Bot API specification (botapi.json): lookup, form-value coercion and validation."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_CONST_RE = re.compile(r'(?:always|must be)\s+[“"]?([a-z_]+)[”"]?')
_DISCRIMINATORS = ("type", "status", "source")
_INT_RE = re.compile(r"-?\d+")


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
        """Fields of a method or type, by name."""
        obj = self.methods.get(name) or self.types[name]
        return {f["name"]: f for f in obj.get("fields", [])}

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
            problems = self.validate(value, types, name)
            errors.extend(problems)
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
                    decoded = json.loads(text)
                except ValueError:
                    continue
                if isinstance(decoded, dict | list):
                    return decoded
        return text

    # -- values ---------------------------------------------------------------------------

    def validate(self, value: Any, types: list[str], path: str) -> list[str]:
        """Errors of `value` against any of `types` (empty when one of them matches)."""
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
                errors.extend(self.validate(item, [inner], f"{path}[{i}]"))
            return errors
        spec_type = self.types.get(t)
        if spec_type is None:
            return [f'parameter "{path}" has unknown type {t}']
        if "subtypes" in spec_type:
            return self.validate(value, spec_type["subtypes"], path)
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
                errors.extend(self.validate(item, f["types"], f"{path}.{key}"))
        for key, f in fields.items():
            if f["required"] and key not in value:
                errors.append(f'field "{path}.{key}" is required in {t}')
        return errors


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
    return Spec(json.loads(text))
