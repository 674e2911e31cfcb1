""" "Show to everyone": one participant presents an image; the others' viewers follow.

The presenter's browser sends the view (file, frame, zoom, pan, rotation, window/level,
brightness/contrast) when it changes, and a pointer; the server keeps the latest view
of each room so a late joiner or a reconnecting browser opens the same thing, and
relays each update to the rest of the room. A view is a few hundred bytes; what is not
a well-formed view is refused here, before anyone sees it. Another participant showing
something takes over; the presenter stopping, or leaving the room, ends it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from signaling.messages import BadMessage, as_object, token_of

#: Files one presentation may hold (a CT series: one file per slice).
MAX_FILES = 1000
#: View updates one socket may send per second (the page sends at most ~10).
VIEW_RATE = 30
ROTATIONS = (0, 90, 180, 270)


def _number(data: dict[str, Any], key: str, low: float, high: float) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadMessage("bad_view", f"{key} must be a number")
    if not math.isfinite(value) or not low <= value <= high:
        raise BadMessage("bad_view", f"{key} must be between {low:g} and {high:g}")
    return float(value)


def _pair(value: object, key: str, low: float, high: float) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise BadMessage("bad_view", f"{key} must be two numbers")
    first = _number({key: value[0]}, key, low, high)
    second = _number({key: value[1]}, key, low, high)
    return first, second


@dataclass(frozen=True)
class View:
    """What a viewer shows, in units that do not depend on its size on screen."""

    file: int
    frame: int
    zoom: float
    #: Offset of the image centre, in fractions of the image's size.
    pan: tuple[float, float]
    rotation: int
    #: DICOM window [center, width] in the image's own units; None for photos.
    window: tuple[float, float] | None
    brightness: float
    contrast: float

    @classmethod
    def parse(cls, value: object) -> View:
        data = as_object(value)
        window = data.get("window")
        rotation = data.get("rotation", 0)
        if rotation not in ROTATIONS or isinstance(rotation, bool):
            raise BadMessage("bad_view", "rotation must be 0, 90, 180 or 270")
        parsed_window = None
        if window is not None:
            parsed_window = _pair(window, "window", -1e7, 1e7)
            if parsed_window[1] <= 0:
                raise BadMessage("bad_view", "the window width must be positive")
        return cls(
            file=int(_number(data, "file", 1, 2**53)),
            frame=int(_number(data, "frame", 0, 100_000)),
            zoom=_number(data, "zoom", 0.01, 100),
            pan=_pair(data.get("pan"), "pan", -100, 100),
            rotation=int(rotation),
            window=parsed_window,
            brightness=_number(data, "brightness", 0.05, 20),
            contrast=_number(data, "contrast", 0.05, 20),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "frame": self.frame,
            "zoom": self.zoom,
            "pan": list(self.pan),
            "rotation": self.rotation,
            "window": list(self.window) if self.window else None,
            "brightness": self.brightness,
            "contrast": self.contrast,
        }


def _files(value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_FILES:
        raise BadMessage("bad_view", f"files must list 1 to {MAX_FILES} file ids")
    if not all(isinstance(f, int) and not isinstance(f, bool) and 0 < f < 2**53 for f in value):
        raise BadMessage("bad_view", "files must be file ids")
    return tuple(value)


@dataclass(frozen=True)
class ShowMessage:
    token: str
    files: tuple[int, ...]
    view: View

    @classmethod
    def parse(cls, payload: object) -> ShowMessage:
        data = as_object(payload)
        return cls(token_of(data), _files(data.get("files")), View.parse(data.get("view")))


@dataclass(frozen=True)
class ViewMessage:
    token: str
    view: View

    @classmethod
    def parse(cls, payload: object) -> ViewMessage:
        data = as_object(payload)
        return cls(token_of(data), View.parse(data.get("view")))


@dataclass(frozen=True)
class PointerMessage:
    token: str
    #: Where the presenter points, in fractions of the image (None: not over it).
    at: tuple[float, float] | None

    @classmethod
    def parse(cls, payload: object) -> PointerMessage:
        data = as_object(payload)
        at = data.get("at")
        return cls(token_of(data), None if at is None else _pair(at, "at", 0, 1))


@dataclass
class Presentation:
    presenter: int
    name: str
    files: tuple[int, ...]
    view: View
    #: Counts updates, so a browser can drop one that arrives late.
    seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "presenter": self.presenter,
            "name": self.name,
            "files": list(self.files),
            "view": self.view.to_dict(),
            "seq": self.seq,
        }
