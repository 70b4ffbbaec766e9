"""Download one media file over http(s), size-capped, for a policy that allows URLs.

Only ``http`` and ``https`` are fetched, redirects included (a redirect elsewhere, e.g. to
``ftp://`` or ``file://``, is refused). The body is streamed to disk and the download stops as
soon as it passes ``max_bytes``, whatever the ``Content-Length`` header claims, or when it has
taken longer than ``deadline_s`` in all (a server trickling one byte at a time never times out a
single read), or when the current :func:`faceqa.deadline.deadline` passes.
"""

from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from faceqa.deadline import check_deadline
from faceqa.errors import InvalidInputError, LimitExceededError, MediaReadError

SCHEMES = ("http", "https")
CHUNK = 1 << 16


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s) addresses."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102 - urllib's hook
        if urlsplit(newurl).scheme.lower() not in SCHEMES:
            raise urllib.error.URLError(f"redirect to a non-http address {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _file_name(url: str) -> str:
    """A safe local name keeping the URL's suffix (the media type is read from it)."""
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".")
    return safe[-100:] or "download"


def fetch_url(url: str, folder: str | os.PathLike[str], max_bytes: int, timeout_s: float = 30.0,
              deadline_s: float = 120.0) -> Path:
    """Download ``url`` into ``folder`` (created) and return the file's path.

    ``timeout_s`` limits each network read, ``deadline_s`` the whole download. Raises
    InvalidInputError for a scheme other than http(s), LimitExceededError when the body passes
    ``max_bytes`` or the download passes ``deadline_s``, MediaReadError when the server cannot be
    reached or answers an error.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise InvalidInputError(f"{url}: only http and https URLs are fetched, not {scheme}")
    target = Path(folder) / _file_name(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    opener = urllib.request.build_opener(_HttpOnlyRedirects())
    request = urllib.request.Request(url, headers={"User-Agent": "faceqa"})
    started = time.monotonic()
    try:
        with opener.open(request, timeout=min(timeout_s, deadline_s)) as response, open(target, "wb") as out:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise LimitExceededError(f"{url}: {int(declared) / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB "
                                         "limit")
            size = 0
            while chunk := response.read1(CHUNK):
                check_deadline()
                if time.monotonic() - started > deadline_s:
                    raise LimitExceededError(f"{url}: download not finished after {deadline_s:g} s (the limit)")
                size += len(chunk)
                if size > max_bytes:
                    raise LimitExceededError(f"{url}: larger than the {max_bytes / 1e6:.1f} MB limit")
                out.write(chunk)
    except LimitExceededError:
        target.unlink(missing_ok=True)
        raise
    except urllib.error.HTTPError as exc:
        target.unlink(missing_ok=True)
        raise MediaReadError(f"{url}: download failed (HTTP {exc.code} {exc.reason})") from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        target.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise MediaReadError(f"{url}: download failed ({reason})") from None
    return target
