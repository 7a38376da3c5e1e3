"""National Rail timetables (ATOC CIF, RSPS5046) to GTFS.

The Rail Delivery Group publishes the GB rail timetable as a zip holding a ``.mca`` file of
fixed-width 80-character records (the CIF End User Specification, RSPS5046) and a ``.msn``
file of stations. The verbs:

- :func:`read_cif` reads the schedules and their calls from one or more ``.mca`` files
  (in a zip, a folder, or bare), applying update transactions in order;
- :func:`read_msn` reads the ``.msn`` stations (TIPLOC, CRS, name, grid reference);
- :func:`compute_running_dates` applies the short-term-plan rules: the dates each schedule
  governs;
- :func:`convert_cif` does all of that and builds a :class:`gtfs_kit.Feed`, clipped to a
  study area; :func:`write_gtfs_zip` writes it.

Rules, as a planner would expect them:

- **Short-term plan.** For each train UID and date, the schedules whose date range and days
  run cover the date compete; an STP one (C cancellation, N new, O overlay) wins over the
  permanent (P). A C removes the train that day, an O replaces the P that day, an N is a
  schedule of its own (if it shares a UID with a P it overrides it like an O). Should two
  STP schedules cover the same date (the spec says they should not) the order is C, N, O,
  and then the one starting later. Bank holiday running ``X`` (not on England and Wales
  bank holidays) is honoured; ``G`` (not on Glasgow holidays) is not.
- **Transactions.** A full extract (HD update indicator ``F``) holds only ``N`` (new)
  schedules. Update files hold ``N``, ``R`` (revise: replaces the schedule with the same
  UID, start date and STP indicator) and ``D`` (delete it); pass the full extract and then
  the updates, in order, to :func:`read_cif`. A revise or delete of a schedule that is not
  there is counted and logged, and (for a revise) the schedule is inserted.
- **Associations** (AA: joins and divides) are read past, not used: every portion has its
  own schedule, so a passenger staying on through a divide is modelled as changing trains
  at the same station (with the router's boarding slack). Change-en-route records (CR: a
  new headcode or category part way) are not used either; stray ones outside a schedule
  are counted in the log and ignored.
- **Calls.** Only public calls become stop times: those with a public time (``"0000"``
  means none, except at a public stop whose working time is within a minute of midnight).
  The origin's public departure and the terminus's public arrival are used at both ends;
  at intermediate calls the public arrival and departure (one standing for the other when
  only one is given). Times run on past midnight as ``24:10:00`` and later; midnight is
  found on the working times, which every timing point has, so a sleeper's long gap between
  public calls is read right. Passing points and working-only stops are left out.
  Activity ``U`` (take up only) sets ``drop_off_type`` 1, ``D`` (set down only)
  ``pickup_type`` 1, ``R`` (request stop) both 3.
- **Buses and ships** in the rail timetable (train status B/5, S/4 or category BR, BS, SS:
  mostly rail replacement buses) are left out and counted: their stops are road points the
  CIF does not locate, and a study models buses from the bus timetables. Schedules without
  two public calls (freight, empty stock, light engines) are left out and counted.
- **IDs.** ``stop_id`` is the TIPLOC (a call's location in CIF; NaPTAN rail stations are
  ``"9100" + TIPLOC``), ``stop_code`` the station's CRS code where known. ``trip_id`` is
  ``"{train UID}_{runs from YYYYMMDD}_{STP}"`` (one trip per schedule: the dates it governs
  are one running-date set). One route per operator and pair of end stations (of the whole
  journey, before clipping), e.g. ``"SW:WATRLMN-WEYMTH"``, ``direction_id`` 0 from the
  first of the pair alphabetically. One agency per ATOC code, named from
  :data:`OPERATOR_NAMES`. ``service_id`` is ``"{first}-{last}-{weekday flags}"`` of the
  running dates (``"~2"``, ``"~3"`` added when sets differ only in their exceptions), a
  calendar row with the weekday flags that cover most of them and calendar_dates for the
  exceptions.
- **Coordinates.** NaPTAN rail stations (ATCO ``"9100" + TIPLOC``) first, then the TIPLOC
  points file, then the MSN grid reference (to 100 m). Calls at locations with none are
  left out (the trip keeps its other calls) and counted and listed.
- **Cache.** Conversions of large inputs are kept under ``cif/`` in the package cache,
  keyed by the content of every input file and the parameters; bump ``"version"`` in
  ``_cache_paths`` when these rules change.
- **Study area.** A journey is kept when it calls publicly inside ``area``; of its calls,
  those within ``area`` plus ``buffer_km`` are kept (30 km by default, which takes in
  Yeovil, Salisbury, Southampton and the New Forest from Dorset and BCP; ``buffer_km=None``
  keeps every call of the kept journeys). A train that only passes through is of no use to
  residents and is left out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access._progress import track
from transport_access.errors import FileFormatError, InvalidValueError, MissingFileError
from transport_access.report import DataReport

if TYPE_CHECKING:
    import geopandas as gpd
    import gtfs_kit

log = get_logger(__name__)

PathLike = str | os.PathLike[str]

#: Length of every CIF record, without the line ending.
RECORD_LENGTH = 80

#: ATOC operator codes and the names travellers know (codes as in the 2020s timetables).
OPERATOR_NAMES: dict[str, str] = {
    "AW": "Transport for Wales",
    "CC": "c2c",
    "CH": "Chiltern Railways",
    "CS": "Caledonian Sleeper",
    "EM": "East Midlands Railway",
    "ES": "Eurostar",
    "GC": "Grand Central",
    "GN": "Great Northern",
    "GR": "LNER",
    "GW": "Great Western Railway",
    "GX": "Gatwick Express",
    "HC": "Heathrow Connect",
    "HT": "Hull Trains",
    "HX": "Heathrow Express",
    "IL": "Island Line",
    "LD": "Lumo",
    "LE": "Greater Anglia",
    "LM": "West Midlands Trains",
    "LO": "London Overground",
    "LT": "London Underground",
    "ME": "Merseyrail",
    "NT": "Northern",
    "NY": "North Yorkshire Moors Railway",
    "SE": "Southeastern",
    "SJ": "Sheffield Supertram",
    "SN": "Southern",
    "SR": "ScotRail",
    "SW": "South Western Railway",
    "SX": "Stansted Express",
    "TL": "Thameslink",
    "TP": "TransPennine Express",
    "TW": "Tyne and Wear Metro",
    "VT": "Avanti West Coast",
    "WR": "West Coast Railway",
    "XC": "CrossCountry",
    "XR": "Elizabeth line",
    "ZZ": "Other operator",
}

#: STP indicators in order of precedence (the first wins on a date).
STP_PRECEDENCE = ("C", "N", "O", "P")
STP_NAMES = {"C": "cancellation", "N": "new STP", "O": "overlay", "P": "permanent"}

_BUS_STATUS = {"B", "5"}
_SHIP_STATUS = {"S", "4"}
_BUS_CATEGORY = {"BR", "BS"}
_SHIP_CATEGORY = {"SS"}

# Activity codes (two characters each, up to six per call) that mark a public stop.
_PUBLIC_ACTIVITY = {"T", "U", "D", "R", "TB", "TF"}

SCHEDULE_COLUMNS = [
    "schedule_id",
    "transaction",
    "train_uid",
    "date_from",
    "date_to",
    "days_run",
    "bank_holiday",
    "train_status",
    "train_category",
    "headcode",
    "stp",
    "atoc_code",
    "source",
    "line",
]
CALL_COLUMNS = [
    "schedule_id",
    "record",
    "tiploc",
    "suffix",
    "working_arrival",
    "working_departure",
    "working_pass",
    "public_arrival",
    "public_departure",
    "platform",
    "activity",
    "line",
]
MSN_COLUMNS = ["tiploc", "crs", "name", "cate", "easting", "northing", "estimated", "lon", "lat"]


@dataclass
class CifTimetable:
    """What :func:`read_cif` read: live schedules, their calls and the TIPLOC records.

    Attributes
    ----------
    sources : list of str
        The ``.mca`` files read, in order (``zip!member`` for members of a zip).
    header : dict
        The last HD record's fields: ``file_id``, ``extract_date``, ``update`` ("F" full or
        "U" update), ``user_start``, ``user_end`` (dates).
    schedules : pandas.DataFrame
        One row per live schedule, columns :data:`SCHEDULE_COLUMNS`; dates as
        ``datetime.date``, ``days_run`` seven "0"/"1" characters Monday to Sunday.
    calls : pandas.DataFrame
        One row per LO/LI/LT record of the live schedules, in order, columns
        :data:`CALL_COLUMNS`; times as the CIF strings (``"1459H"``, blank when absent).
    tiplocs : pandas.DataFrame
        TI/TA records: ``tiploc``, ``crs``, ``description``, ``stanox``.
    transactions : dict of str to int
        Counts of ``"revise without original"``, ``"delete without original"`` and
        ``"new replacing existing"`` (all zero for a single full extract).
    skipped : int
        Schedule records read past because their train UID was not wanted.
    """

    sources: list[str]
    header: dict[str, Any]
    schedules: pd.DataFrame
    calls: pd.DataFrame
    tiplocs: pd.DataFrame
    transactions: dict[str, int] = field(default_factory=dict)
    skipped: int = 0


# --------------------------------------------------------------------------- reading CIF


def _cif_date(text: str, path: str, line: int, what: str) -> dt.date:
    if text == "999999":  # open-ended: no end date
        return dt.date(2099, 12, 31)
    try:
        # Two-digit years: CIF started in the 1990s, and 60 splits the centuries safely.
        year = int(text[:2])
        return dt.date(year + (1900 if year >= 60 else 2000), int(text[2:4]), int(text[4:6]))
    except ValueError:
        raise InvalidValueError(
            path, f"line {line}: {what} {text!r} is not a date (YYMMDD).", _FIX_HINT
        ) from None


def _ddmmyy(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%d%m%y").date()
    except ValueError:
        return None


_FIX_HINT = "Check that the file is an unaltered ATOC CIF timetable (.mca)."


def _mca_members(path: Path) -> list[tuple[str, Any]]:
    """(label, opener) for each .mca file at ``path`` (a zip, a folder or a file)."""
    if path.is_dir():
        files = sorted(path.glob("*.mca")) + sorted(path.glob("*.MCA"))
        if not files:
            raise FileFormatError(
                path,
                "holds no .mca file.",
                "Give the ATOC timetable zip, or a folder with its .mca.",
            )
        return [(str(f), lambda f=f: open(f, "rb")) for f in files]
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = sorted(n for n in archive.namelist() if n.lower().endswith(".mca"))
        except zipfile.BadZipFile as error:
            raise FileFormatError(path, f"is a damaged zip: {error}.") from None
        if not names:
            raise FileFormatError(
                path,
                "holds no .mca file (the CIF schedules).",
                "Give the ATOC CIF timetable zip from the Rail Delivery Group data feeds.",
            )

        def opener(name: str) -> Any:
            archive = zipfile.ZipFile(path)
            return archive.open(name)

        return [(f"{path}!{n}", lambda n=n: opener(n)) for n in names]
    return [(str(path), lambda: open(path, "rb"))]


def _mca_bytes(path: Path) -> int:
    """Uncompressed size of the .mca files at ``path`` (0 when there are none)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.suffix.lower() == ".mca")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return sum(
                i.file_size for i in archive.infolist() if i.filename.lower().endswith(".mca")
            )
    return path.stat().st_size


def _lines(handle: Any) -> Iterator[str]:
    # CIF is ASCII; latin-1 never fails, so a stray byte shows up in a field, not as a crash.
    with handle:
        for raw in io.TextIOWrapper(handle, encoding="latin-1", newline=""):
            yield raw.rstrip("\r\n")


_SKIPPED: list[Any] = []  # stands for a schedule being read past (not among the UIDs wanted)


class _Reader:
    """Accumulates schedules and calls from successive .mca files."""

    def __init__(self, keep: Container[str] | None = None) -> None:
        self.keep = keep
        self.skipped = 0
        self.schedules: list[tuple[Any, ...]] = []
        self.calls: list[tuple[Any, ...]] = []
        self.tiplocs: dict[str, tuple[str, str, str]] = {}
        self.header: dict[str, Any] = {}
        self.live: dict[tuple[str, dt.date, str], int] = {}
        self.stray_cr = 0
        self.transactions = {
            "new replacing existing": 0,
            "revise without original": 0,
            "delete without original": 0,
        }

    def read(self, label: str, lines: Iterable[str]) -> None:
        current: list[Any] | None = None  # the schedule being read, as a mutable row
        seen_header = False
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            kind = line[:2]
            if not seen_header:
                if kind != "HD":
                    raise FileFormatError(
                        label,
                        f"is not a CIF timetable: line {number} starts with {kind!r}, "
                        "not the HD header record.",
                        "Give the .mca file of an ATOC CIF timetable (or the zip holding it).",
                    )
                seen_header = True
            if len(line) != RECORD_LENGTH:
                raise FileFormatError(
                    label,
                    f"line {number} ({kind} record) is {len(line)} characters long; CIF "
                    f"records are {RECORD_LENGTH}. The file is truncated or was edited.",
                    "Download the timetable again.",
                )
            if kind == "HD":
                self.header = {
                    "file_id": line[2:22].strip(),
                    "extract_date": _ddmmyy(line[22:28]),
                    "update": line[46],
                    "user_start": _ddmmyy(line[48:54]),
                    "user_end": _ddmmyy(line[54:60]),
                }
            elif kind in ("TI", "TA"):
                self.tiplocs[line[2:9].strip()] = (
                    line[53:56].strip(),
                    line[18:44].strip(),
                    line[44:49].strip(),
                )
                if kind == "TA" and line[72:79].strip():  # TIPLOC renamed
                    self.tiplocs[line[72:79].strip()] = self.tiplocs.pop(line[2:9].strip())
            elif kind == "TD":
                self.tiplocs.pop(line[2:9].strip(), None)
            elif kind == "BS":
                current = self._schedule(label, number, line)
            elif current is _SKIPPED and kind in ("BX", "LO", "LI", "LT", "CR"):
                continue
            elif kind == "BX":
                self._need(current, label, number, kind)
                current[11] = line[11:13].strip()  # type: ignore[index]
            elif kind in ("LO", "LI", "LT"):
                self._need(current, label, number, kind)
                self.calls.append(_call(current[0], kind, line, number))  # type: ignore[index]
            elif kind == "CR":
                # Change-en-route details are not used; stray ones (the shared subset has
                # 77,644 before its first schedule) are harmless, so only counted.
                if current is None:
                    self.stray_cr += 1
            elif kind in ("AA", "ZZ"):
                current = None
            else:
                raise FileFormatError(
                    label,
                    f"line {number}: unknown record type {kind!r}.",
                    "CIF records are HD, TI, TA, TD, AA, BS, BX, LO, LI, CR, LT and ZZ. "
                    + _FIX_HINT,
                )
        if not seen_header:
            raise FileFormatError(label, "is empty: no HD header record.", _FIX_HINT)

    @staticmethod
    def _need(current: Any, label: str, number: int, kind: str) -> None:
        if current is None:
            raise FileFormatError(
                label,
                f"line {number}: {kind} record outside a schedule (no BS before it).",
                _FIX_HINT,
            )

    def _schedule(self, label: str, number: int, line: str) -> list[Any] | None:
        transaction, uid, stp = line[2], line[3:9], line[79]
        if transaction not in "NRD" or stp not in STP_PRECEDENCE:
            raise InvalidValueError(
                label,
                f"line {number}: BS record has transaction type {transaction!r} (N, R or D) "
                f"and STP indicator {stp!r} (C, N, O or P).",
                _FIX_HINT,
            )
        if self.keep is not None and uid not in self.keep:
            self.skipped += transaction != "D"
            return _SKIPPED
        date_from = _cif_date(line[9:15], label, number, "date runs from")
        key = (uid, date_from, stp)
        if transaction == "D":
            if self.live.pop(key, None) is None:
                self.transactions["delete without original"] += 1
            return None
        days_run = line[21:28]
        if stp != "C" and (len(days_run.strip("01")) or "1" not in days_run):
            raise InvalidValueError(
                label,
                f"line {number}: days run {days_run!r} of train {uid} must be 7 characters "
                "0/1 (Monday to Sunday) with at least one 1.",
                _FIX_HINT,
            )
        if transaction == "R" and key not in self.live:
            self.transactions["revise without original"] += 1
        if transaction == "N" and key in self.live:
            self.transactions["new replacing existing"] += 1
        schedule_id = len(self.schedules)
        row = [
            schedule_id,
            transaction,
            uid,
            date_from,
            _cif_date(line[15:21], label, number, "date runs to"),
            days_run,
            line[28].strip(),
            line[29].strip(),
            line[30:32].strip(),
            line[32:36].strip(),
            stp,
            "",
            label,
            number,
        ]
        self.schedules.append(row)  # type: ignore[arg-type]
        self.live[key] = schedule_id
        return row


def _call(schedule_id: int, kind: str, line: str, number: int) -> tuple[Any, ...]:
    location = line[2:10]
    if kind == "LO":
        arrival, departure, passing = "", line[10:15], ""
        public_arrival, public_departure = "0000", line[15:19]
        platform, activity = line[19:22], line[29:41]
    elif kind == "LI":
        arrival, departure, passing = line[10:15], line[15:20], line[20:25]
        public_arrival, public_departure = line[25:29], line[29:33]
        platform, activity = line[33:36], line[42:54]
    else:
        arrival, departure, passing = line[10:15], "", ""
        public_arrival, public_departure = line[15:19], "0000"
        platform, activity = line[19:22], line[25:37]
    return (
        schedule_id,
        kind,
        location[:7].strip(),
        location[7].strip(),
        arrival.strip(),
        departure.strip(),
        passing.strip(),
        public_arrival,
        public_departure,
        platform.strip(),
        activity.rstrip(),
        number,
    )


def read_cif(
    paths: PathLike | Sequence[PathLike],
    *,
    train_uids: Container[str] | None = None,
    report: DataReport | None = None,
) -> CifTimetable:
    """Read the schedules of ATOC CIF ``.mca`` files, applying their transactions in order.

    Parameters
    ----------
    paths : path-like or sequence of path-like
        The ATOC timetable zip (its ``.mca`` member), a folder holding ``.mca`` files, or a
        ``.mca`` file; several for a full extract followed by its update files.
    train_uids : container of str, optional
        Read only the schedules of these trains (the rest are checked for their header and
        record lengths, and counted in ``skipped``); None reads all.
    report : DataReport, optional
        Receives a ``"rail schedules (CIF)"`` entry when updates revise or delete schedules
        that are not there.

    Returns
    -------
    CifTimetable
        The live schedules (after N/R/D transactions) and their calls.

    Raises
    ------
    MissingFileError
        A path does not exist.
    FileFormatError
        No ``.mca`` in the zip or folder; a file does not start with an HD record; a line
        is not 80 characters; a record of unknown type, or a location record before any BS.
    InvalidValueError
        A BS record with an invalid transaction type, STP indicator, date or days run.
        Errors name the file (``zip!member``) and the line number.
    """
    path_list = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    reader = _Reader(train_uids)
    labels: list[str] = []
    for path in map(Path, path_list):
        if not path.exists():
            raise MissingFileError(
                path,
                "does not exist.",
                "Give the ATOC CIF timetable zip (Rail Delivery Group data feeds).",
            )
        for label, opener in _mca_members(path):
            reader.read(label, _lines(opener()))
            labels.append(label)
    if reader.header.get("update") == "U" and len(labels) == 1:
        log.warning(
            "%s is an update file (HD update indicator U): read it after the full extract "
            "it updates",
            labels[0],
        )

    if reader.stray_cr:
        log.warning(
            "%s: %d CR (change en route) records outside a schedule ignored",
            ", ".join(labels),
            reader.stray_cr,
        )
    live = set(reader.live.values())
    schedules = pd.DataFrame(reader.schedules, columns=SCHEDULE_COLUMNS)
    schedules = schedules[schedules["schedule_id"].isin(live)].reset_index(drop=True)
    calls = pd.DataFrame(reader.calls, columns=CALL_COLUMNS)
    calls = calls[calls["schedule_id"].isin(live)].reset_index(drop=True)
    tiplocs = pd.DataFrame(
        [(t, *v) for t, v in reader.tiplocs.items()],
        columns=["tiploc", "crs", "description", "stanox"],
    )
    problems = {k: v for k, v in reader.transactions.items() if v}
    for why, count in problems.items():
        log.warning("%s: %d schedule transactions were a %s", ", ".join(labels), count, why)
    if report is not None and problems:
        report.add("rail schedules (CIF): transactions", "all", len(schedules), problems)
    log.debug("%s: %d schedules, %d calls", ", ".join(labels), len(schedules), len(calls))
    return CifTimetable(
        labels, reader.header, schedules, calls, tiplocs, reader.transactions, reader.skipped
    )


def _uids_calling_at(path_list: Sequence[Path], places: set[str]) -> set[str]:
    """Train UIDs with any location record (call or pass) at one of ``places`` (TIPLOCs).

    A quick scan, so that a GB-wide timetable is read in full only for the trains that
    matter to a study area; :func:`read_cif` checks the records afterwards.
    """
    uids: set[str] = set()
    uid = ""
    for path in path_list:
        for _, opener in _mca_members(path):
            for line in _lines(opener()):
                kind = line[:2]
                if kind == "BS":
                    uid = line[3:9]
                elif kind in ("LO", "LI", "LT") and line[2:9].rstrip() in places:
                    uids.add(uid)
    return uids


# --------------------------------------------------------------------------- stations (MSN)


def _msn_member(path: Path) -> tuple[str, Any] | None:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".msn")
        return (str(files[0]), lambda: open(files[0], "rb")) if files else None
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if n.lower().endswith(".msn"))
        if not names:
            return None
        return (f"{path}!{names[0]}", lambda: zipfile.ZipFile(path).open(names[0]))
    if path.suffix.lower() != ".msn":
        path = path.with_suffix(".msn")  # beside a bare .mca, the .msn of the same name
    if path.is_file():
        return (str(path), lambda: open(path, "rb"))
    return None


def read_msn(path: PathLike) -> pd.DataFrame:
    """Read the stations of an ATOC ``.msn`` (master station names) file.

    Station records (type ``A``) give the name (columns 6-35), CATE interchange type (36),
    TIPLOC (37-43), CRS code (50-52) and grid reference: easting (53-57) and northing
    (59-63) in units of 100 m with offsets 10000 and 60000, so ``13679`` / ``60796`` is
    E 367900 m, N 79600 m (Weymouth); an ``E`` in column 58 marks an estimated position.

    Parameters
    ----------
    path : path-like
        The ``.msn`` file, or the ATOC zip or a folder holding one, or a ``.mca`` file (the
        ``.msn`` of the same name beside it is read).

    Returns
    -------
    pandas.DataFrame
        One row per TIPLOC, columns :data:`MSN_COLUMNS`: ``easting`` and ``northing`` in
        metres (EPSG:27700, float), ``lon``/``lat`` in degrees (EPSG:4326), ``cate`` the
        interchange status (0 not an interchange ... 9 subsidiary TIPLOC of a station),
        ``estimated`` (bool). Empty when the zip or folder has no ``.msn``.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(path, "does not exist.", "Give the ATOC timetable zip or .msn file.")
    member = _msn_member(path)
    if member is None:
        return pd.DataFrame(columns=MSN_COLUMNS)
    label, opener = member
    rows = []
    for number, line in enumerate(_lines(opener()), start=1):
        if not line.startswith("A") or line[1:5].strip() or len(line) < 63:
            continue
        tiploc = line[36:43].strip()
        if not tiploc or not line[52:57].strip().isdigit():
            continue  # the file's own header line ("A  FILE-SPEC=...")
        try:
            easting = (int(line[52:57]) - 10000) * 100.0
            northing = (int(line[58:63]) - 60000) * 100.0
        except ValueError:
            log.warning("%s: line %d: grid reference unreadable; station left out", label, number)
            continue
        rows.append(
            (
                tiploc,
                line[49:52].strip(),
                line[5:35].strip(),
                line[35],
                easting,
                northing,
                line[57] == "E",
            )
        )
    frame = pd.DataFrame(rows, columns=MSN_COLUMNS[:-2]).drop_duplicates("tiploc")
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs(27700, 4326, always_xy=True)
    lon, lat = to_wgs84.transform(frame["easting"].to_numpy(), frame["northing"].to_numpy())
    frame["lon"], frame["lat"] = lon, lat
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- running dates


def compute_running_dates(
    timetable: CifTimetable, *, bank_holidays: Iterable[dt.date] | None = None
) -> pd.DataFrame:
    """Apply the short-term-plan rules: the dates on which each schedule governs its train.

    Parameters
    ----------
    timetable : CifTimetable
        From :func:`read_cif`.
    bank_holidays : iterable of datetime.date, optional
        Dates on which schedules with bank holiday running ``X`` do not run; defaults to the
        England and Wales bank holidays.

    Returns
    -------
    pandas.DataFrame
        One row per non-cancellation schedule that governs at least one date, columns
        ``schedule_id`` and ``dates`` (sorted tuple of ``datetime.date``).
    """
    schedules = timetable.schedules
    if not len(schedules):
        return pd.DataFrame({"schedule_id": pd.Series(dtype=int), "dates": []})
    if bank_holidays is None:
        from transport_access.load.transxchange import england_bank_holidays

        bank_holidays = england_bank_holidays()
    first = min(schedules["date_from"])
    last = max(schedules["date_to"])
    end_cap = (timetable.header.get("user_end") or last) + dt.timedelta(days=366)
    last = min(last, max(end_cap, max(schedules["date_from"])))
    n_days = (last - first).days + 1
    dates = [first + dt.timedelta(days=i) for i in range(n_days)]
    day = np.arange(n_days)
    weekday = np.array([d.weekday() for d in dates])

    start = np.array([(d - first).days for d in schedules["date_from"]])
    end = np.array([(min(d, last) - first).days for d in schedules["date_to"]])
    flags = np.array([[c == "1" for c in (s + "0000000")[:7]] for s in schedules["days_run"]])
    running = (day >= start[:, None]) & (day <= end[:, None]) & flags[:, weekday]
    holiday = np.isin(np.array(dates, dtype=object), list(bank_holidays))
    not_on_holidays = (schedules["bank_holiday"].to_numpy() == "X") & (
        schedules["stp"].to_numpy() != "C"
    )
    running[np.ix_(not_on_holidays, holiday)] = False

    # Within each train UID, the schedule of highest precedence takes the date.
    order = schedules.assign(
        _rank=schedules["stp"].map({k: i for i, k in enumerate(STP_PRECEDENCE)}),
        _start=-start,
        _id=-schedules["schedule_id"],
    ).sort_values(["train_uid", "_rank", "_start", "_id"])
    positions = order.index.to_numpy()
    uids = order["train_uid"].to_numpy()
    governing = running.copy()
    taken = np.zeros(n_days, dtype=bool)
    for k, position in enumerate(positions):
        if k == 0 or uids[k] != uids[k - 1]:
            taken[:] = False
        governing[position] &= ~taken
        taken |= running[position]

    keep = governing.any(axis=1) & (schedules["stp"].to_numpy() != "C")
    date_array = np.array(dates, dtype=object)
    rows = [
        (sid, tuple(date_array[governing[i]]))
        for i, sid in enumerate(schedules["schedule_id"])
        if keep[i]
    ]
    return pd.DataFrame(rows, columns=["schedule_id", "dates"])


def _service(dates: tuple[dt.date, ...]) -> tuple[str, tuple[int, ...], list[tuple[str, int]]]:
    """Service ID, weekday flags and calendar_dates exceptions for a set of running dates."""
    first, last = dates[0], dates[-1]
    span = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    on = set(dates)
    # A weekday is flagged when it runs on most of its dates in the span: fewest exceptions.
    flags = []
    for weekday in range(7):
        days = [d for d in span if d.weekday() == weekday]
        running = sum(d in on for d in days)
        flags.append(int(running > len(days) - running))
    exceptions = []
    for d in span:
        if d in on and not flags[d.weekday()]:
            exceptions.append((d.strftime("%Y%m%d"), 1))
        elif d not in on and flags[d.weekday()]:
            exceptions.append((d.strftime("%Y%m%d"), 2))
    service_id = f"{first:%Y%m%d}-{last:%Y%m%d}-{''.join(map(str, flags))}"
    return service_id, tuple(flags), exceptions


# --------------------------------------------------------------------------- times


def _minutes(text: str) -> int:
    return int(text[:2]) * 60 + int(text[2:4])


def _is_public(public: str, working: str, activity: str) -> bool:
    if public.strip() and public != "0000":
        return True
    # "0000" means no public time, but a public stop at midnight has it too.
    codes = {activity[i : i + 2].strip() for i in range(0, len(activity), 2)}
    near_midnight = working[:4] in ("2359", "0000")
    return public == "0000" and near_midnight and bool(codes & _PUBLIC_ACTIVITY)


def _gtfs_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _pickup_drop_off(record: str, activity: str) -> tuple[int, int]:
    codes = {activity[i : i + 2].strip() for i in range(0, len(activity), 2)}
    pickup = 1 if record == "LT" or "D" in codes else 3 if "R" in codes else 0
    drop_off = 1 if record == "LO" or "U" in codes else 3 if "R" in codes else 0
    return pickup, drop_off


#: Fields of a call given to :func:`_public_calls`, in order.
_CALL_FIELDS = [
    "record",
    "tiploc",
    "working_arrival",
    "working_departure",
    "working_pass",
    "public_arrival",
    "public_departure",
    "activity",
]

_HALF_DAY_MIN = 720


def _public_calls(calls: Iterable[tuple[str, ...]]) -> tuple[list[tuple[Any, ...]], int]:
    """(tiploc, arrival min, departure min, pickup, drop_off) of a schedule's public calls.

    ``calls`` are tuples of :data:`_CALL_FIELDS`, in calling order. Minutes count from
    midnight of the first day and grow past 1440 after midnight. Also returns how many
    times were raised to the one before them (public times going backwards).

    The day is counted on the working times, which every location has (passes included), so
    consecutive ones are minutes apart and a decrease can only be midnight; public times
    between two distant public calls (a sleeper) could not tell. A public time then takes
    the day of its working time, give or take one where they straddle midnight (working
    23:59H, public 00:00).
    """
    out: list[tuple[Any, ...]] = []
    adjusted = 0
    previous = -1
    day = 0
    for record, tiploc, w_arr, w_dep, w_pass, p_arr, p_dep, activity in calls:
        working: list[int | None] = []
        for text in (w_arr, w_dep, w_pass):
            if not text:
                working.append(None)
                continue
            minutes = _minutes(text) + day * 1440
            if minutes < previous:  # the train has run past midnight
                day += 1
                minutes += 1440
            previous = minutes
            working.append(minutes)

        public_in = record != "LO" and _is_public(p_arr, w_arr, activity)
        public_out = record != "LT" and _is_public(p_dep, w_dep, activity)
        if not (public_in or public_out):
            continue
        times: list[int | None] = []
        for is_public, text, at in (
            (public_in, p_arr, working[0]),
            (public_out, p_dep, working[1]),
        ):
            if not is_public:
                times.append(None)
                continue
            reference = at if at is not None else previous
            minutes = _minutes(text) + (reference // 1440) * 1440
            if minutes < reference - _HALF_DAY_MIN:
                minutes += 1440
            elif minutes > reference + _HALF_DAY_MIN:
                minutes -= 1440
            times.append(minutes)
        arrival = times[0] if times[0] is not None else times[1]
        departure = times[1] if times[1] is not None else times[0]
        # Public times never go backwards in a sound file; if one does, hold it at the time
        # before it (counted in the report) rather than fail the whole timetable.
        if out and arrival < out[-1][2]:
            arrival, adjusted = out[-1][2], adjusted + 1
        if departure < arrival:
            departure, adjusted = arrival, adjusted + 1
        pickup, drop_off = _pickup_drop_off(record, activity)
        out.append((tiploc, arrival, departure, pickup, drop_off))
    return out, adjusted


# --------------------------------------------------------------------------- locations


def _naptan_points(naptan_rail: Any) -> pd.DataFrame:
    if naptan_rail is None:
        return pd.DataFrame(columns=["tiploc", "name", "lon", "lat"])
    if isinstance(naptan_rail, (str, os.PathLike)):
        from transport_access.load.naptan import load_naptan

        naptan_rail = load_naptan(naptan_rail)
    rail = naptan_rail[naptan_rail["atco_code"].astype(str).str.startswith("9100")]
    rail = rail[rail.geometry.notna() & ~rail.geometry.is_empty]
    names = rail["name"].astype(str).str.replace(r"\s+Rail Station$", "", regex=True)
    return pd.DataFrame(
        {
            "tiploc": rail["atco_code"].astype(str).str[4:].to_numpy(),
            "name": names.to_numpy(),
            "lon": rail.geometry.x.to_numpy(),
            "lat": rail.geometry.y.to_numpy(),
        }
    ).drop_duplicates("tiploc")


def _tiploc_points(tiplocs: Any) -> pd.DataFrame:
    if tiplocs is None:
        return pd.DataFrame(columns=["tiploc", "name", "lon", "lat"])
    if isinstance(tiplocs, (str, os.PathLike)):
        import geopandas as gpd

        if not Path(tiplocs).exists():
            raise MissingFileError(tiplocs, "does not exist.", "Give the TIPLOC points file.")
        tiplocs = gpd.read_file(tiplocs)
    tiplocs = tiplocs.to_crs(4326)
    column = next((c for c in ("tiploc", "TIPLOC", "stop_id") if c in tiplocs.columns), None)
    if column is None:
        raise FileFormatError(
            "tiplocs",
            f"has no TIPLOC column (tiploc or stop_id); columns: {list(tiplocs.columns)}.",
        )
    points = tiplocs[tiplocs.geometry.notna() & ~tiplocs.geometry.is_empty]
    name = points["stop_name"] if "stop_name" in points else points[column]
    return pd.DataFrame(
        {
            "tiploc": points[column].astype(str).to_numpy(),
            "name": name.astype(str).str.title().to_numpy(),
            "lon": points.geometry.x.to_numpy(),
            "lat": points.geometry.y.to_numpy(),
        }
    ).drop_duplicates("tiploc")


def _location_sources(
    naptan_rail: Any, tiplocs: Any, msn: pd.DataFrame
) -> list[tuple[str, pd.DataFrame]]:
    """The place tables, in order of precedence: (source name, tiploc/name/lon/lat)."""
    return [
        ("naptan", _naptan_points(naptan_rail)),
        ("tiplocs", _tiploc_points(tiplocs)),
        ("msn", msn.assign(name=msn["name"].str.title())[["tiploc", "name", "lon", "lat"]]),
    ]


def _locations(
    wanted: Iterable[str],
    *,
    sources: list[tuple[str, pd.DataFrame]],
    timetable: CifTimetable | None,
    msn: pd.DataFrame,
) -> pd.DataFrame:
    """tiploc, crs, name, lon, lat (NaN where unknown), source for the TIPLOCs wanted."""
    frame = pd.DataFrame({"tiploc": sorted(set(wanted))})
    placed: dict[str, tuple[float, float, str]] = {}
    named: dict[str, str] = {}
    for source, points in sources:
        for tiploc, name, lon, lat in points[["tiploc", "name", "lon", "lat"]].itertuples(
            index=False
        ):
            if tiploc not in placed and pd.notna(lon) and pd.notna(lat):
                placed[tiploc] = (float(lon), float(lat), source)
            if tiploc not in named and isinstance(name, str) and name:
                named[tiploc] = name
    nowhere = (np.nan, np.nan, "")
    frame["lon"] = [placed.get(t, nowhere)[0] for t in frame["tiploc"]]
    frame["lat"] = [placed.get(t, nowhere)[1] for t in frame["tiploc"]]
    frame["source"] = [placed.get(t, nowhere)[2] for t in frame["tiploc"]]
    frame["name"] = [named.get(t, "") for t in frame["tiploc"]]
    described = (
        timetable.tiplocs
        if timetable is not None
        else pd.DataFrame({"tiploc": [], "crs": [], "description": []}, dtype=object)
    ).set_index("tiploc")
    unnamed = frame["name"] == ""
    frame.loc[unnamed, "name"] = (
        frame.loc[unnamed, "tiploc"].map(described["description"].str.title()).fillna("")
    )
    frame.loc[frame["name"] == "", "name"] = frame["tiploc"]
    codes = {t: c for t, c in zip(msn["tiploc"], msn["crs"], strict=True) if c}
    codes.update({t: c for t, c in zip(described.index, described["crs"], strict=True) if c})
    frame["crs"] = [codes.get(t, "") for t in frame["tiploc"]]
    return frame


def _area_masks(
    locations: pd.DataFrame, area: Any, buffer_km: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """(inside area, inside area + buffer) for located rows."""
    import geopandas as gpd
    import shapely

    if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        shape = area.to_crs(27700).union_all()
    else:
        shape = gpd.GeoSeries([area], crs=4326).to_crs(27700).iloc[0]
    points = gpd.GeoSeries(gpd.points_from_xy(locations["lon"], locations["lat"]), crs=4326).to_crs(
        27700
    )
    x, y = points.x.to_numpy(), points.y.to_numpy()
    shapely.prepare(shape)
    inside = shapely.contains_xy(shape, x, y)
    if buffer_km is None:
        return inside, np.ones(len(locations), dtype=bool)
    buffered = shape.buffer(buffer_km * 1000.0) if buffer_km > 0 else shape
    shapely.prepare(buffered)
    return inside, shapely.contains_xy(buffered, x, y)


# --------------------------------------------------------------------------- conversion


def _frame_digest(frame: Any) -> str | None:
    if frame is None:
        return None
    if isinstance(frame, (str, os.PathLike)):
        from transport_access._cache import file_sha256

        return file_sha256(frame)
    table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).astype(str)
    if "geometry" in frame:
        table["wkb"] = frame.geometry.to_wkb().map(lambda b: b.hex() if b is not None else "")
    digest = pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes()
    return hashlib.sha256(digest).hexdigest()


def _cache_paths(
    path_list: list[Path],
    naptan_rail: Any,
    tiplocs: Any,
    area: Any,
    buffer_km: float | None,
    bank_holidays: Iterable[dt.date] | None,
) -> tuple[Path, Path]:
    from transport_access._cache import cache_dir, cache_key

    area_wkb = None
    if area is not None:
        import geopandas as gpd

        if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
            area = area.to_crs(4326).union_all()
        area_wkb = hashlib.sha256(area.wkb).hexdigest()
    params = {
        "version": 2,
        "naptan": _frame_digest(naptan_rail),
        "tiplocs": _frame_digest(tiplocs),
        "area": area_wkb,
        "buffer_km": buffer_km,
        "bank_holidays": sorted(map(str, bank_holidays)) if bank_holidays is not None else None,
    }
    key = cache_key("cif-gtfs", path_list, params)
    folder = cache_dir() / "cif"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.zip", folder / f"{key}.json"


#: .mca files larger than this are converted once and cached on disk.
CACHE_MIN_BYTES = 5_000_000


def convert_cif(
    path: PathLike | Sequence[PathLike],
    *,
    naptan_rail: gpd.GeoDataFrame | PathLike | None = None,
    tiplocs: gpd.GeoDataFrame | PathLike | None = None,
    area: Any = None,
    buffer_km: float | None = 30.0,
    bank_holidays: Iterable[dt.date] | None = None,
    cache: bool = True,
    report: DataReport | None = None,
) -> gtfs_kit.Feed:
    """Convert an ATOC CIF timetable to a GTFS feed, optionally clipped to a study area.

    The rules (short-term plan, public calls, IDs, coordinates, clipping) are in the module
    docstring of :mod:`transport_access.load.cif`.

    Parameters
    ----------
    path : path-like or sequence of path-like
        The ATOC timetable zip (``.mca`` schedules and ``.msn`` stations), a folder holding
        them, or a ``.mca`` file; several to apply update files after a full extract.
    naptan_rail : GeoDataFrame or path-like, optional
        NaPTAN rail stations (ATCO ``910...``): the output of
        :func:`transport_access.load.naptan.load_naptan`, or the path of ``910Stops.csv``.
    tiplocs : GeoDataFrame or path-like, optional
        TIPLOC points (a ``stop_id`` or ``tiploc`` column, EPSG:4326 or any CRS set), or the
        path of a vector file with them (``tiplocs.gpkg``).
    area : shapely geometry, GeoSeries or GeoDataFrame, optional
        The study area (a bare geometry is taken as EPSG:4326); None keeps every journey.
    buffer_km : float or None
        Calls this many kilometres outside ``area`` are kept; None keeps every call of the
        journeys kept. Ignored without ``area``.
    bank_holidays : iterable of datetime.date, optional
        For bank holiday running ``X``; defaults to England and Wales bank holidays.
    cache : bool
        Cache the conversion of large inputs (over :data:`CACHE_MIN_BYTES` of ``.mca``) on
        disk, keyed by the content of every input and the parameters.
    report : DataReport, optional
        Receives one ``"rail timetable (CIF)"`` entry: trips kept; schedules by STP kind,
        and those left out (never governing, bus or ship, without public calls, not calling
        in the area); calls without coordinates.

    Returns
    -------
    gtfs_kit.Feed
        ``dist_units`` km; tables agency, routes (route_type 2), trips, stop_times (times as
        ``"HH:MM:SS"`` strings, hours past 23 after midnight), stops, calendar and
        calendar_dates.

    Raises
    ------
    MissingFileError, FileFormatError, InvalidValueError
        As :func:`read_cif`, naming the file and line.
    """
    import gtfs_kit as gk

    path_list = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
    for p in path_list:
        if not p.exists():
            raise MissingFileError(
                p, "does not exist.", "Give the ATOC CIF timetable zip (Rail Delivery Group)."
            )
    use_cache = cache and sum(map(_mca_bytes, path_list)) > CACHE_MIN_BYTES
    if use_cache:
        zip_path, meta_path = _cache_paths(
            path_list, naptan_rail, tiplocs, area, buffer_km, bank_holidays
        )
        if zip_path.exists() and meta_path.exists():
            log.info("rail timetable: using the cached conversion %s", zip_path)
            feed = gk.read_feed(zip_path, dist_units="km")
            if report is not None:
                for entry in json.loads(meta_path.read_text(encoding="utf-8")):
                    report.add(**entry)
            return feed

    msn = pd.concat([read_msn(p) for p in path_list], ignore_index=True).drop_duplicates("tiploc")
    sources = _location_sources(naptan_rail, tiplocs, msn)
    train_uids = None
    if area is not None:
        # Read in full only the trains with a location in the area: a GB timetable has
        # millions of calls, and the short-term-plan rules work train by train.
        places = _locations(
            {t for _, points in sources for t in points["tiploc"]},
            sources=sources,
            timetable=None,
            msn=msn,
        )
        places = places[places["lon"].notna()].reset_index(drop=True)
        inside, _ = _area_masks(places, area, 0.0)
        train_uids = _uids_calling_at(path_list, set(places.loc[inside, "tiploc"]))
    # Entries go to a report of our own first, so that a cache hit can replay them.
    local = DataReport()
    timetable = read_cif(path_list, train_uids=train_uids, report=local)
    feed, entry = _build_feed(
        timetable,
        msn=msn,
        sources=sources,
        area=area,
        buffer_km=buffer_km,
        bank_holidays=bank_holidays,
    )
    local.add(**entry)
    entries = [
        {
            "dataset": e.dataset,
            "area": e.area,
            "rows_kept": e.rows_kept,
            "exclusions": e.exclusions,
            "detail": e.detail,
        }
        for e in local.entries
    ]
    if report is not None:
        report.entries.extend(local.entries)
    if use_cache:
        write_gtfs_zip(feed, zip_path)
        meta_path.write_text(json.dumps(entries), encoding="utf-8")
        feed = gk.read_feed(zip_path, dist_units="km")  # the same types on a cache hit
    return feed


def _build_feed(
    timetable: CifTimetable,
    *,
    msn: pd.DataFrame,
    sources: list[tuple[str, pd.DataFrame]],
    area: Any,
    buffer_km: float | None,
    bank_holidays: Iterable[dt.date] | None,
) -> tuple[gtfs_kit.Feed, dict[str, Any]]:
    import gtfs_kit as gk

    schedules = timetable.schedules.set_index("schedule_id")
    by_stp = schedules["stp"].value_counts()
    running = compute_running_dates(timetable, bank_holidays=bank_holidays)
    exclusions: dict[str, int] = {
        "schedules of trains with no location in the area (not read)": timetable.skipped,
        "schedules never governing a date (superseded by STP, or cancelled)": int(
            (schedules["stp"] != "C").sum() - len(running)
        ),
    }

    kinds = schedules.loc[running["schedule_id"]]
    bus = kinds["train_status"].isin(_BUS_STATUS) | kinds["train_category"].isin(_BUS_CATEGORY)
    ship = kinds["train_status"].isin(_SHIP_STATUS) | kinds["train_category"].isin(_SHIP_CATEGORY)
    exclusions["bus schedules (mostly rail replacement)"] = int(bus.sum())
    exclusions["ship schedules"] = int((ship & ~bus).sum())
    running = running[~(bus | ship).to_numpy()]

    wanted_ids = set(running["schedule_id"])
    calls = timetable.calls[timetable.calls["schedule_id"].isin(wanted_ids)]
    calls_by_schedule: dict[int, list[tuple[str, ...]]] = {}
    columns = [calls["schedule_id"].tolist()] + [calls[c].tolist() for c in _CALL_FIELDS]
    for sid, *fields in zip(*columns, strict=True):
        calls_by_schedule.setdefault(sid, []).append(tuple(fields))
    journeys: dict[int, list[tuple[Any, ...]]] = {}
    times_raised = 0
    for sid in track(running["schedule_id"], total=len(running), description="rail schedules"):
        public, adjusted = _public_calls(calls_by_schedule.get(sid, []))
        times_raised += adjusted
        if len(public) >= 2:
            journeys[sid] = public
    exclusions["schedules without two public calls (freight, empty stock)"] = len(running) - len(
        journeys
    )

    wanted = {call[0] for public in journeys.values() for call in public}
    locations = _locations(wanted, sources=sources, timetable=timetable, msn=msn)
    located = locations[locations["lon"].notna()].reset_index(drop=True)
    missing = set(locations.loc[locations["lon"].isna(), "tiploc"])
    if area is not None:
        inside, in_buffer = _area_masks(located, area, buffer_km)
        inside_set = set(located.loc[inside, "tiploc"])
        buffer_set = set(located.loc[in_buffer, "tiploc"])
    else:
        inside_set = buffer_set = set(located["tiploc"])

    dates_by_schedule = dict(zip(running["schedule_id"], running["dates"], strict=True))
    calls_without_coordinates = 0
    missing_seen: dict[str, int] = {}
    outside_buffer = 0
    outside_area = 0
    too_short = 0
    trip_rows, stop_time_rows, route_ends = [], [], {}
    services: dict[tuple[Any, ...], str] = {}
    service_rows: dict[str, tuple[tuple[int, ...], list[tuple[str, int]], dt.date, dt.date]] = {}
    for sid, public in journeys.items():
        no_place = [c for c in public if c[0] in missing]
        kept_located = [c for c in public if c[0] not in missing]
        if not any(c[0] in inside_set for c in kept_located):
            outside_area += 1
            continue
        calls_without_coordinates += len(no_place)
        for c in no_place:
            missing_seen[c[0]] = missing_seen.get(c[0], 0) + 1
        kept = [c for c in kept_located if c[0] in buffer_set]
        outside_buffer += len(kept_located) - len(kept)
        if len(kept) < 2:
            too_short += 1
            continue

        schedule = schedules.loc[sid]
        dates = dates_by_schedule[sid]
        service_id, flags, exceptions = _service(dates)
        signature = (flags, dates[0], dates[-1], tuple(exceptions))
        if signature not in services:
            suffix = sum(1 for s in services.values() if s.split("~")[0] == service_id)
            unique_id = service_id + (f"~{suffix + 1}" if suffix else "")
            services[signature] = unique_id
            service_rows[unique_id] = (flags, exceptions, dates[0], dates[-1])
        origin, destination = public[0][0], public[-1][0]
        operator = schedule["atoc_code"] or "ZZ"
        ends = sorted((origin, destination))
        route_id = f"{operator}:{ends[0]}-{ends[1]}"
        route_ends[route_id] = (operator, ends[0], ends[1])
        trip_id = f"{schedule['train_uid']}_{schedule['date_from']:%Y%m%d}_{schedule['stp']}"
        trip_rows.append(
            (
                route_id,
                services[signature],
                trip_id,
                destination,
                schedule["headcode"],
                0 if origin == ends[0] else 1,
            )
        )
        for sequence, (tiploc, arrival, departure, pickup, drop_off) in enumerate(kept, 1):
            # Clipping can make a call the first or last of the trip: nobody gets off at
            # the first or on at the last, whatever the real train allows there.
            if sequence == 1:
                drop_off = 1
            if sequence == len(kept):
                pickup = 1
            stop_time_rows.append(
                (
                    trip_id,
                    _gtfs_time(arrival),
                    _gtfs_time(departure),
                    tiploc,
                    sequence,
                    pickup,
                    drop_off,
                )
            )
    exclusions["trips not calling in the area"] = outside_area
    exclusions["trips with under two calls within the buffer"] = too_short
    if missing_seen:
        listed = ", ".join(f"{t} ({n})" for t, n in sorted(missing_seen.items()))
        log.warning(
            "rail timetable: %d public calls at %d locations without coordinates left out: %s",
            calls_without_coordinates,
            len(missing_seen),
            listed,
        )

    names = locations.set_index("tiploc")["name"]
    trips = pd.DataFrame(
        trip_rows,
        columns=[
            "route_id",
            "service_id",
            "trip_id",
            "trip_headsign",
            "trip_short_name",
            "direction_id",
        ],
    )
    trips["trip_headsign"] = trips["trip_headsign"].map(names)
    stop_times = pd.DataFrame(
        stop_time_rows,
        columns=[
            "trip_id",
            "arrival_time",
            "departure_time",
            "stop_id",
            "stop_sequence",
            "pickup_type",
            "drop_off_type",
        ],
    )
    stop_times["timepoint"] = 1
    used = located[located["tiploc"].isin(set(stop_times["stop_id"]))]
    stops = pd.DataFrame(
        {
            "stop_id": used["tiploc"],
            "stop_code": used["crs"],
            "stop_name": used["name"],
            "stop_lat": used["lat"].astype(float),
            "stop_lon": used["lon"].astype(float),
            "location_type": 0,
        }
    ).sort_values("stop_id", ignore_index=True)
    routes = pd.DataFrame(
        [
            (route_id, operator, f"{names[a]} - {names[b]}", 2)
            for route_id, (operator, a, b) in sorted(route_ends.items())
        ],
        columns=["route_id", "agency_id", "route_long_name", "route_type"],
    )
    routes.insert(2, "route_short_name", routes["agency_id"])
    agency = pd.DataFrame(
        [
            (code, OPERATOR_NAMES.get(code, f"ATOC operator {code}"))
            for code in sorted(set(routes["agency_id"]))
        ],
        columns=["agency_id", "agency_name"],
    )
    agency["agency_url"] = "https://www.nationalrail.co.uk"
    agency["agency_timezone"] = "Europe/London"
    weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    calendar = pd.DataFrame(
        [
            (sid, *flags, f"{first:%Y%m%d}", f"{last:%Y%m%d}")
            for sid, (flags, _, first, last) in sorted(service_rows.items())
        ],
        columns=["service_id", *weekdays, "start_date", "end_date"],
    )
    calendar_dates = pd.DataFrame(
        [
            (sid, date, kind)
            for sid, (_, exceptions, _, _) in sorted(service_rows.items())
            for date, kind in exceptions
        ],
        columns=["service_id", "date", "exception_type"],
    )
    feed = gk.Feed(
        dist_units="km",
        agency=agency,
        routes=routes,
        trips=trips,
        stop_times=stop_times,
        stops=stops,
        calendar=calendar,
        calendar_dates=calendar_dates if len(calendar_dates) else None,
    )

    read = ", ".join(f"{by_stp.get(k, 0):,} {STP_NAMES[k]}" for k in STP_PRECEDENCE)
    detail = f"{len(schedules):,} schedules read ({read}); {len(stop_times):,} stop times"
    if area is not None and buffer_km is not None:
        detail += f"; {outside_buffer:,} calls beyond the {buffer_km:g} km buffer left out"
    if times_raised:
        detail += f"; {times_raised:,} public times going backwards raised to the one before"
        log.warning("rail timetable: %d public times went backwards; raised", times_raised)
    if calls_without_coordinates:
        listed = ", ".join(sorted(missing_seen)[:20])
        detail += (
            f"; {calls_without_coordinates:,} public calls without coordinates left out "
            f"({len(missing_seen)} locations: {listed}{', ...' if len(missing_seen) > 20 else ''})"
        )
    exclusions = {k: v for k, v in exclusions.items() if v}
    area_text = (
        "all" if area is None else ("area" if buffer_km is None else f"area + {buffer_km:g} km")
    )
    entry = {
        "dataset": "rail timetable (CIF)",
        "area": area_text,
        "rows_kept": len(trips),
        "exclusions": exclusions,
        "detail": detail,
    }
    return feed, entry


def write_gtfs_zip(feed: gtfs_kit.Feed, out: PathLike) -> Path:
    """Write a feed as a GTFS zip.

    Parameters
    ----------
    feed : gtfs_kit.Feed
        For example from :func:`convert_cif`.
    out : path-like
        The zip to write (its folder is created); an existing file is replaced.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    feed.to_file(out)
    return out
