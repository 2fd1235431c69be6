"""NIfTI-1 volumes (nibabel) with a JSON sidecar for units and times.

NIfTI stores RAS+ world coordinates while radiotrial (and DICOM) use LPS: the affine is
converted with ``diag(-1, -1, 1)``; the data array is stored in ``(X, Y, Z)`` order, the
transpose of :class:`Volume`'s ``(Z, Y, X)``.

References
----------
NIfTI-1 data format, https://nifti.nimh.nih.gov/nifti-1 (sform/qform, xyzt_units);
Brett et al., nibabel, doi:10.5281/zenodo.591597.
"""

from __future__ import annotations

import importlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np

from radiotrial.errors import InputFileError, ValidationError
from radiotrial.imaging._dicom_common import atomic_output_file, reading
from radiotrial.imaging._volume import VOLUME_UNITS, Volume

__all__ = ["read_nifti", "sidecar_path", "write_nifti"]

_LPS_RAS: Final = np.diag([-1.0, -1.0, 1.0, 1.0])


def sidecar_path(path: Path | str) -> Path:
    """``scan.nii.gz`` → ``scan.json`` (BIDS convention)."""
    p = Path(path)
    name = p.name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return p.with_name(name[: -len(ext)] + ".json")
    raise ValidationError("path", str(path), "a NIfTI path ends in .nii or .nii.gz")


def write_nifti(
    volume: Volume,
    path: Path | str,
    *,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a volume as NIfTI-1 plus a JSON sidecar holding units, time and ``metadata``.

    Parameters
    ----------
    volume : Volume
    path : path
        Ends in ``.nii.gz`` or ``.nii``; the sidecar is the same stem with ``.json``.
    metadata : dict, optional
        Extra JSON-serialisable facts (e.g. injected activity and time) stored in the sidecar.
    overwrite : bool, default False

    Returns
    -------
    Path
        The NIfTI path. The sidecar is renamed into place first, so a NIfTI on disk always
        has its sidecar.
    """
    nib: Any = importlib.import_module("nibabel")

    side = sidecar_path(path)
    target = Path(path)
    arr = np.asarray(volume.array)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    img = nib.Nifti1Image(np.ascontiguousarray(arr.transpose(2, 1, 0)), _LPS_RAS @ volume.affine)
    img.header.set_xyzt_units(xyz="mm", t="sec")
    img.set_sform(_LPS_RAS @ volume.affine, code=1)  # 1 = scanner-based anatomical
    img.set_qform(_LPS_RAS @ volume.affine, code=1)
    doc = {
        "Units": volume.units,
        "AcquisitionDateTime": None
        if volume.acquisition_time is None
        else volume.acquisition_time.isoformat(),
        "CoordinateSystem": "NIfTI RAS+ (converted from DICOM LPS)",
        "radiotrial": metadata or {},
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if target.exists() and not overwrite:
        raise ValidationError("out", str(target), "already exists; choose a new path or overwrite")
    with atomic_output_file(target, overwrite=overwrite) as tmp:
        # nibabel picks compression from the file name, so write to a *.nii(.gz) name
        named = tmp.with_name(tmp.name + "".join(target.suffixes[-2:]))
        try:
            nib.save(img, named)
            os.replace(named, tmp)
        finally:
            named.unlink(missing_ok=True)
        # the sidecar lands just before the image, so an image on disk has its sidecar
        with atomic_output_file(side, overwrite=True) as tmp_side:
            tmp_side.write_text(text, encoding="utf-8")
    return target


def read_nifti(path: Path | str, *, units: str | None = None) -> tuple[Volume, dict[str, Any]]:
    """Read a NIfTI volume and its sidecar.

    Parameters
    ----------
    path : path
    units : str, optional
        Required when there is no sidecar; must agree with the sidecar otherwise.

    Returns
    -------
    volume : Volume
    metadata : dict
        The sidecar's ``radiotrial`` block (empty without sidecar).

    Raises
    ------
    InputFileError
        Unreadable file, non-3-D data, a shearing/non-orthonormal affine, a bad sidecar or
        unknown units — naming the file and field.
    """
    with reading(path):
        nib: Any = importlib.import_module("nibabel")

        p = Path(path)
        try:
            img = nib.load(p)
            data = np.asarray(img.dataobj)
            affine = np.asarray(img.affine, dtype=np.float64)
        except Exception as exc:  # nibabel raises many types for corrupt files
            raise InputFileError(str(p), f"unreadable NIfTI: {type(exc).__name__}: {exc}") from None
        if data.ndim == 4 and data.shape[3] == 1:
            data = data[..., 0]
        if data.ndim != 3:
            raise InputFileError(str(p), f"dim = {data.shape}: expected a 3-D image")
        side = sidecar_path(p)
        doc: dict[str, Any] = {}
        if side.exists():
            try:
                doc = json.loads(side.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputFileError(str(side), f"unreadable JSON sidecar: {exc}") from None
            if not isinstance(doc, dict):
                raise InputFileError(str(side), "sidecar must be a JSON object")
        side_units = doc.get("Units")
        if units is not None and side_units is not None and units != side_units:
            raise InputFileError(str(side), f"Units = {side_units!r} contradicts units={units!r}")
        final_units = units or side_units
        if final_units is None:
            raise InputFileError(
                str(p), "unknown units: no JSON sidecar 'Units' and no units= given"
            )
        if final_units not in VOLUME_UNITS:
            raise InputFileError(
                str(side), f"Units = {final_units!r} is not one of {sorted(VOLUME_UNITS)}"
            )
        when = None
        if doc.get("AcquisitionDateTime"):
            try:
                when = datetime.fromisoformat(str(doc["AcquisitionDateTime"]))
            except ValueError:
                raise InputFileError(
                    str(side),
                    f"AcquisitionDateTime = {doc['AcquisitionDateTime']!r} is not ISO 8601",
                ) from None
            if when.tzinfo is None:
                raise InputFileError(str(side), "AcquisitionDateTime has no UTC offset")
        lps = _LPS_RAS @ affine
        m = lps[:3, :3]
        spacing_xyz = np.linalg.norm(m, axis=0)
        if np.any(spacing_xyz <= 0) or not np.all(np.isfinite(lps)):
            raise InputFileError(str(p), f"sform/qform affine {affine.tolist()} is degenerate")
        direction = m / spacing_xyz
        if np.max(np.abs(direction.T @ direction - np.eye(3))) > 1e-4:
            raise InputFileError(str(p), "sform/qform affine shears: not representable as a Volume")
        if data.dtype.kind not in "biuf":
            raise InputFileError(str(p), f"datatype {data.dtype} is not supported")
        volume = Volume(
            np.ascontiguousarray(data.transpose(2, 1, 0)),
            spacing_mm=(float(spacing_xyz[2]), float(spacing_xyz[1]), float(spacing_xyz[0])),
            origin_mm=(float(lps[0, 3]), float(lps[1, 3]), float(lps[2, 3])),
            direction=direction,
            units=final_units,
            acquisition_time=when,
        )
        extra = doc.get("radiotrial", {})
        return volume, extra if isinstance(extra, dict) else {}
