"""Write per-frame face tables to CSV or Parquet in chunks, so long videos never sit in memory."""

from __future__ import annotations

from pathlib import Path

from faceqa.errors import InvalidInputError
from faceqa.perception.records import FaceRecord, to_dataframe

FORMATS = (".csv", ".parquet")


def save_table(df, path: str | Path) -> Path:
    """Write a DataFrame to ``.csv`` or ``.parquet`` (by extension), naming the problem if it can't."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InvalidInputError(f"{path}: output must end in .csv or .parquet")
    if not path.parent.exists():
        raise InvalidInputError(f"{path}: folder {path.parent} does not exist")
    if path.suffix.lower() == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path


class TableWriter:
    """Append face records to a ``.csv`` or ``.parquet`` file; call :meth:`close` (or use ``with``)."""

    def __init__(self, path: str | Path, landmarks: str | None = "columns"):
        self.path = Path(path)
        if self.path.suffix.lower() not in FORMATS:
            raise InvalidInputError(f"{self.path}: output must end in .csv or .parquet")
        if not self.path.parent.exists():
            raise InvalidInputError(f"{self.path}: folder {self.path.parent} does not exist")
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
            df.to_csv(self.path, mode="a" if self._started else "w", header=not self._started, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        self._started = True
        self._rows += len(df)

    def close(self) -> int:
        """Finish the file (an empty table with the base columns if nothing was written); rows written."""
        if not self._started:
            self._write_frame(to_dataframe([], landmarks=None))
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        return self._rows

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
