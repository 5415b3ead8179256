"""Another event than the default one, as an event file, for tests of what must not depend on it."""
from __future__ import annotations

from pathlib import Path

OTHER_EVENT = """
[event]
slug = "hoi-nghi"
title = "Hội nghị tổng kết năm học"
date = 2024-05-20
start = "08:00"
venue = "Hội trường UBND huyện"
[[agenda]]
start = "08:00"
end = "08:30"
content = "Khai mạc"
"""


def write_other_event(path: Path, groups: str) -> Path:
    """Write the other event with the given [[groups]] TOML to `path`; return it."""
    path.write_text(OTHER_EVENT + groups, encoding="utf-8")
    return path
