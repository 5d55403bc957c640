"""Source kinds that pull from live systems and land files: a SQL database and a paginated HTTP API.

Each extractor does *extract -> land*: it pulls new or changed records since its cursor and
writes them as files into the landing folder (``<landing>/<system>/<night>/<entity>...``),
where the file loader picks them up like any delivered extract. Landing is the durable
boundary: a cursor advances only after the landed files are complete on disk.
"""

from ingestion.sources.cursors import CursorStore
from ingestion.sources.result import ExtractResult

__all__ = ["CursorStore", "ExtractResult"]
