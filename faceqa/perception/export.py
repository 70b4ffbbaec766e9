"""Write per-frame face tables to CSV or Parquet in chunks, so long videos never sit in memory.

Tables go to regular files only (never a device, FIFO or link; :func:`faceqa.safeio.check_output`),
written under a temporary name and renamed when complete, so an interrupted run leaves no half table.
"""

from __future__ import annotations

from pathlib import Path

from faceqa.errors import InvalidInputError
from faceqa.perception.records import FaceRecord, to_dataframe
from faceqa.safeio import atomic_output, display

FORMATS = (".csv", ".parquet")


def save_table(df, path: str | Path) -> Path:
    """Write a DataFrame to ``.csv`` or ``.parquet`` (by extension), naming the problem if it can't."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InvalidInputError(f"{display(path)}: output must end in .csv or .parquet")
    with atomic_output(path) as tmp:
        if path.suffix.lower() == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
    return path


class TableWriter:
    """Append face records to a ``.csv`` or ``.parquet`` file; call :meth:`close` to finish it (or
    :meth:`discard` to drop it; ``with`` does either). The rows go to a temporary file beside ``path``,
    renamed to ``path`` by :meth:`close`."""

    def __init__(self, path: str | Path, landmarks: str | None = "columns"):
        self.path = Path(path)
        if self.path.suffix.lower() not in FORMATS:
            raise InvalidInputError(f"{display(self.path)}: output must end in .csv or .parquet")
        self._atomic = atomic_output(self.path)
        self._tmp = self._atomic.__enter__()
        self.landmarks = "columns" if landmarks == "array" and self.path.suffix == ".csv" else landmarks
        self._parquet = None
        self._rows = 0
        self._started = False

    def write(self, records: list[FaceRecord]) -> None:
        """Append these records (no-op for an empty list)."""
        if not records:
            return
        self._write_frame(to_dataframe(records, landmarks=self.landmarks))

    def _write_frame(self, df) -> None:
        if self.path.suffix.lower() == ".csv":
            df.to_csv(self._tmp, mode="a" if self._started else "w", header=not self._started, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._tmp, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        self._started = True
        self._rows += len(df)

    def close(self) -> int:
        """Finish the file (an empty table with the base columns if nothing was written); rows written."""
        if self._atomic is None:
            return self._rows
        try:
            if not self._started:
                self._write_frame(to_dataframe([], landmarks=None))
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None
        except BaseException as exc:
            self._finish(exc)
            raise
        self._finish(None)
        return self._rows

    def discard(self) -> None:
        """Drop the table written so far (``path`` is left as it was)."""
        if self._atomic is None:
            return
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        self._finish(InterruptedError("discarded"))

    def _finish(self, exc: BaseException | None) -> None:
        atomic, self._atomic = self._atomic, None
        if exc is None:
            atomic.__exit__(None, None, None)
        else:
            try:
                atomic.__exit__(type(exc), exc, exc.__traceback__)
            except BaseException as raised:
                if raised is not exc:
                    raise

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close()
        else:
            self.discard()
