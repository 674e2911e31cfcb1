"""Y4M files with a known picture, for Chromium's fake camera.

Each picture is split in two halves of solid colour, so a test can tell which
participant's camera a remote <video> shows by sampling two pixels.
"""

from __future__ import annotations

from pathlib import Path

Colour = tuple[int, int, int]


def rgb_to_yuv(rgb: Colour) -> tuple[int, int, int]:
    r, g, b = rgb
    y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256
    u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256
    v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256
    return round(y), round(u), round(v)


def write_split_y4m(
    path: Path, left: Colour, right: Colour, width: int = 320, height: int = 240, frames: int = 10
) -> Path:
    """Write ``frames`` identical 4:2:0 frames: ``left`` colour | ``right`` colour."""
    yl, ul, vl = rgb_to_yuv(left)
    yr, ur, vr = rgb_to_yuv(right)
    half, chroma_half = width // 2, width // 4
    y_plane = (bytes([yl]) * half + bytes([yr]) * half) * height
    u_plane = (bytes([ul]) * chroma_half + bytes([ur]) * chroma_half) * (height // 2)
    v_plane = (bytes([vl]) * chroma_half + bytes([vr]) * chroma_half) * (height // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + y_plane + u_plane + v_plane)
    return path
