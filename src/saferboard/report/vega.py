"""Vega-Lite specs to SVG with vl-convert, in a child process, for the board pack.

vl-convert holds the interpreter lock while it works: about a second to start its
JavaScript runtime, then 0.1-0.3 s a chart, seconds a pack. A child process converts the
charts on another core while the pack's process computes the rest of the pack. The child
is `python -m saferboard.report.vega`: one JSON spec a line in; one JSON line out per spec,
in the same order ({"svg": ...} or {"error": ...}).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import IO, Any


def to_svg(spec: dict[str, Any]) -> str:
    """The SVG of a Vega-Lite spec, without the XML declaration (it sits inside HTML)."""
    import vl_convert as vlc

    svg: str = vlc.vegalite_to_svg(spec)
    return svg[svg.index("<svg"):]


class Converter:
    """Converts the specs given to `submit` in a child process; `finish` returns their SVGs
    in order. Use as a context manager: leaving it stops the child."""

    def __init__(self) -> None:
        # The child imports this same saferboard, wherever it was imported from.
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}
        self._child = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            encoding="utf-8", env=env)
        self._lines: list[str] = []
        # Threads write the specs and drain the SVGs, so neither side ever waits on a full
        # pipe: a map's spec is hundreds of kilobytes, and the pack's process would stop
        # until the child had converted every chart before it.
        self._specs: queue.Queue[str | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write, args=(self._child.stdin,),
                                        daemon=True)
        self._reader = threading.Thread(target=self._read, args=(self._child.stdout,),
                                        daemon=True)
        self._writer.start()
        self._reader.start()
        self._sent = 0

    def _write(self, stream: IO[str] | None) -> None:
        assert stream is not None
        try:
            while (line := self._specs.get()) is not None:
                stream.write(line)
                stream.flush()
            stream.close()
        except (BrokenPipeError, ValueError):  # the child stopped: finish() says so
            pass

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        self._lines.extend(stream)

    def submit(self, spec: dict[str, Any]) -> None:
        self._specs.put(json.dumps(spec) + "\n")
        self._sent += 1

    def finish(self) -> list[str]:
        """The SVGs of every spec submitted, in order (waits for the child to end)."""
        self._specs.put(None)
        self._writer.join()
        self._reader.join()
        if self._child.wait() != 0 or len(self._lines) != self._sent:
            raise RuntimeError(self._failed())
        out = []
        for i, line in enumerate(self._lines):
            result = json.loads(line)
            if "error" in result:
                raise ValueError(f"chart {i + 1} of {self._sent}: vl-convert failed: "
                                 f"{result['error']}")
            out.append(str(result["svg"]))
        return out

    def _failed(self) -> str:
        return (f"the chart converter (python -m {__name__}) stopped after "
                f"{len(self._lines)} of {self._sent} charts (exit code "
                f"{self._child.poll()}; its error is above)")

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._child.poll() is None:
            self._child.kill()
            self._child.wait()
        self._specs.put(None)
        self._writer.join(timeout=10)
        self._reader.join(timeout=10)
        for stream in (self._child.stdin, self._child.stdout):
            if stream is not None and not stream.closed:
                with suppress(OSError):  # a pipe to a killed child
                    stream.close()


def main() -> None:
    to_svg({"mark": "point", "data": {"values": [{}]}})  # starts the runtime before input
    for line in sys.stdin:
        try:
            result = {"svg": to_svg(json.loads(line))}
        except Exception as e:  # handed to the parent, which raises it
            result = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
