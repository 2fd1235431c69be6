"""Atomic file and folder output: nothing partial is ever visible at the target.

Every writer in radiotrial (DICOM, NIfTI, reports, virtual patients, exports) writes into a
temporary sibling and renames it into place only when complete, so that a failed run leaves
the output folder as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from radiotrial.errors import ValidationError

__all__ = ["atomic_output_dir", "atomic_output_file"]


@contextmanager
def atomic_output_dir(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder that becomes ``target`` only if the block succeeds.

    Nothing partial is ever visible at ``target``: on any exception the temporary folder is
    removed and ``target`` is untouched.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise ValidationError(
            "out", str(target), "already exists; choose a new folder or overwrite"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_output_file(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling path that is renamed to ``target`` only if the block succeeds."""
    target = Path(target)
    if target.exists() and not overwrite:
        raise ValidationError("out", str(target), "already exists; choose a new path or overwrite")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
