"""RFC 7946 checks for the GeoJSON the exports write (only what they use: FeatureCollection,
Feature, Point)."""

from __future__ import annotations

from typing import Any

# RFC 7946 §7.1: members a kind of object must not have, because they mean something elsewhere.
_NOT_IN = {
    "FeatureCollection": {"coordinates", "geometries", "geometry", "properties"},
    "Feature": {"coordinates", "geometries", "features"},
    "Point": {"geometries", "geometry", "properties", "features"},
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _point(geometry: dict[str, Any], where: str) -> list[str]:
    problems = [f"{where}: member {m!r} not allowed" for m in _NOT_IN["Point"] & set(geometry)]
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) not in (2, 3):
        return [*problems, f"{where}: a Point's coordinates are [lon, lat] or [lon, lat, alt]"]
    if not all(_number(c) for c in coordinates):
        return [*problems, f"{where}: coordinates must be numbers"]
    lon, lat = coordinates[0], coordinates[1]
    if not -180 <= lon <= 180:
        problems.append(f"{where}: longitude {lon} out of range")
    if not -90 <= lat <= 90:
        problems.append(f"{where}: latitude {lat} out of range")
    return problems


def _feature(feature: Any, where: str) -> list[str]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return [f"{where}: not a Feature"]
    problems = [f"{where}: member {m!r} not allowed" for m in _NOT_IN["Feature"] & set(feature)]
    if "geometry" not in feature or "properties" not in feature:
        problems.append(f"{where}: a Feature has 'geometry' and 'properties' (possibly null)")
    if "id" in feature and not (isinstance(feature["id"], str) or _number(feature["id"])):
        problems.append(f"{where}: id must be a string or a number")
    properties = feature.get("properties")
    if properties is not None and not isinstance(properties, dict):
        problems.append(f"{where}: properties must be an object or null")
    geometry = feature.get("geometry")
    if geometry is not None:
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            problems.append(f"{where}: geometry must be a Point or null")
        else:
            problems += _point(geometry, where)
    return problems


def rfc7946_problems(document: Any) -> list[str]:
    """Everything in `document` that RFC 7946 does not allow; empty when it is valid."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        return ["not a FeatureCollection"]
    problems = [f"member {m!r} not allowed" for m in _NOT_IN["FeatureCollection"] & set(document)]
    if "crs" in document:
        problems.append("'crs' was removed by RFC 7946 (coordinates are WGS 84)")
    features = document.get("features")
    if not isinstance(features, list):
        return [*problems, "features must be an array"]
    for index, feature in enumerate(features):
        problems += _feature(feature, f"features[{index}]")
    return problems
