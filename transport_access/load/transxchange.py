"""TransXChange bus timetables (TNDS, BODS) converted to GTFS through ``transx2gtfs``, offline.

transx2gtfs would download two things from the internet: the national NaPTAN stops (when
no local file is given) and the gov.uk bank holidays (when no local file is given). Here
both are always given: the stops come from the NaPTAN table the caller passes (written to
a small CSV of ATCO code, name, latitude and longitude), and the bank holidays from the
copy bundled with transx2gtfs, extended with the England and Wales holidays of 2013-2018
(the bundled copy starts in 2019; TNDS archives are older). No network access is made.

Stops a timetable calls at but NaPTAN no longer lists (stops removed since the timetable
was published) cannot be placed. Their stop_times rows are left out; each trip keeps its
other stops, so it passes the missing stop without serving it (a trip left with fewer than
two stops is left out). The missing ATCO codes are reported.

Conversions are cached on disk, keyed by the content of the XML and of the stops table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from transport_access._cache import cache_dir, cache_key
from transport_access._log import get_logger
from transport_access.errors import FileFormatError, MissingFileError
from transport_access.report import DataReport

if TYPE_CHECKING:
    import geopandas as gpd
    import gtfs_kit

log = get_logger(__name__)

TXC_NAMESPACE = "http://www.transxchange.org.uk/"

SERVICE_COLUMNS = [
    "file",
    "service_code",
    "line_name",
    "operator",
    "start_date",
    "end_date",
    "vehicle_journeys",
    "trips",
    "trips_on_day",
]

# England and Wales bank holidays before the bundled gov.uk copy (which starts in 2019).
_EARLIER_BANK_HOLIDAYS = {
    "New Year's Day": [
        "2013-01-01",
        "2014-01-01",
        "2015-01-01",
        "2016-01-01",
        "2017-01-02",
        "2018-01-01",
    ],
    "Good Friday": [
        "2013-03-29",
        "2014-04-18",
        "2015-04-03",
        "2016-03-25",
        "2017-04-14",
        "2018-03-30",
    ],
    "Easter Monday": [
        "2013-04-01",
        "2014-04-21",
        "2015-04-06",
        "2016-03-28",
        "2017-04-17",
        "2018-04-02",
    ],
    "Early May bank holiday": [
        "2013-05-06",
        "2014-05-05",
        "2015-05-04",
        "2016-05-02",
        "2017-05-01",
        "2018-05-07",
    ],
    "Spring bank holiday": [
        "2013-05-27",
        "2014-05-26",
        "2015-05-25",
        "2016-05-30",
        "2017-05-29",
        "2018-05-28",
    ],
    "Summer bank holiday": [
        "2013-08-26",
        "2014-08-25",
        "2015-08-31",
        "2016-08-29",
        "2017-08-28",
        "2018-08-27",
    ],
    "Christmas Day": [
        "2013-12-25",
        "2014-12-25",
        "2015-12-25",
        "2016-12-27",
        "2017-12-25",
        "2018-12-25",
    ],
    "Boxing Day": [
        "2013-12-26",
        "2014-12-26",
        "2015-12-28",
        "2016-12-26",
        "2017-12-26",
        "2018-12-26",
    ],
}

_CONVERTER_VERSION = 1  # bump when the conversion here changes, to invalidate the cache


def england_bank_holidays() -> set[dt.date]:
    """England and Wales bank holidays, 2013 to 2028 (gov.uk, as bundled with transx2gtfs)."""
    from transx2gtfs.data import get_path

    bundled = json.loads(Path(get_path("bank_holidays")).read_text(encoding="utf-8"))
    dates = {e["date"] for e in bundled["england-and-wales"]["events"]}
    dates |= {d for days in _EARLIER_BANK_HOLIDAYS.values() for d in days}
    return {dt.date.fromisoformat(d) for d in dates}


def _bank_holidays_file() -> Path:
    """The bundled gov.uk bank holidays with 2013-2018 added for England and Wales."""
    from transx2gtfs.data import get_path

    bundled = json.loads(Path(get_path("bank_holidays")).read_text(encoding="utf-8"))
    division = bundled["england-and-wales"]
    known = {event["date"] for event in division["events"]}
    extra = [
        {"title": title, "date": date, "notes": "", "bunting": True}
        for title, dates in _EARLIER_BANK_HOLIDAYS.items()
        for date in dates
        if date not in known
    ]
    division["events"] = sorted(extra + division["events"], key=lambda e: e["date"])
    text = json.dumps(bundled, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = cache_dir() / "transxchange" / f"bank-holidays-{digest}.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def _offline_transx2gtfs(bank_holidays: Path, log_file: Path) -> Iterator[None]:
    """Point transx2gtfs at local files and send its log and warnings to ours."""
    import logging
    import warnings

    saved = os.environ.get("TRANSX2GTFS_BANK_HOLIDAYS_PATH")
    os.environ["TRANSX2GTFS_BANK_HOLIDAYS_PATH"] = str(bank_holidays)
    package_log = logging.getLogger("transx2gtfs")

    class _Relay(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            log.debug("transx2gtfs: %s", record.getMessage())

    relay = _Relay()
    package_log.addHandler(relay)
    propagate = package_log.propagate
    package_log.propagate = False
    try:
        with warnings.catch_warnings():
            # Data warnings are logged by transx2gtfs (and so relayed); no second copy.
            warnings.showwarning = lambda *args, **kwargs: None
            yield
    finally:
        package_log.removeHandler(relay)
        package_log.propagate = propagate
        if saved is None:
            os.environ.pop("TRANSX2GTFS_BANK_HOLIDAYS_PATH", None)
        else:
            os.environ["TRANSX2GTFS_BANK_HOLIDAYS_PATH"] = saved


def _xml_documents(path: Path) -> Iterator[tuple[str, bytes]]:
    """(file name, content) of every TransXChange XML under a file, folder or zip."""
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file() and file.suffix.lower() in {".xml", ".zip"}:
                yield from _xml_documents(file)
    elif path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in sorted(archive.namelist()):
                if member.lower().endswith(".xml"):
                    yield Path(member).name, archive.read(member)
    else:
        yield path.name, path.read_bytes()


def _parse_documents(path: Path) -> list[dict[str, object]]:
    """Services, stop references and journey counts of each XML document."""
    from lxml import etree

    ns = {"t": TXC_NAMESPACE}
    documents = []
    for file_name, content in _xml_documents(path):
        try:
            root = etree.fromstring(content)
        except etree.XMLSyntaxError as error:
            raise FileFormatError(
                f"{path}!{file_name}" if file_name != path.name else path,
                f"is not valid XML: {error}.",
                "Check that this is a TransXChange file.",
            ) from None
        if etree.QName(root).localname != "TransXChange":
            raise FileFormatError(
                path, f"{file_name} is not a TransXChange document (root {root.tag})."
            )

        def texts(xpath: str, node: object = root) -> list[str]:
            return [e.text.strip() for e in node.xpath(xpath, namespaces=ns) if e.text]

        stops = texts("//t:StopPoints/t:AnnotatedStopPointRef/t:StopPointRef") + texts(
            "//t:StopPoints/t:StopPoint/t:AtcoCode"
        )
        called = texts("//t:JourneyPatternTimingLink/t:From/t:StopPointRef") + texts(
            "//t:JourneyPatternTimingLink/t:To/t:StopPointRef"
        )
        operators = texts("//t:Operators/t:Operator/t:TradingName") or texts(
            "//t:Operators/t:Operator/t:OperatorShortName"
        )
        services = []
        for service in root.xpath("//t:Services/t:Service", namespaces=ns):
            services.append(
                {
                    "service_code": (texts("t:ServiceCode", service) or [""])[0],
                    "line_name": ", ".join(texts("t:Lines/t:Line/t:LineName", service)),
                    "start_date": (texts("t:OperatingPeriod/t:StartDate", service) or [""])[0],
                    "end_date": (texts("t:OperatingPeriod/t:EndDate", service) or [""])[0],
                }
            )
        documents.append(
            {
                "file": file_name,
                "stops": set(stops) | set(called),
                "operator": ", ".join(dict.fromkeys(operators)),
                "services": services,
                "vehicle_journeys": len(root.xpath("//t:VehicleJourney", namespaces=ns)),
            }
        )
    if not documents:
        raise FileFormatError(
            path, "holds no TransXChange .xml files.", "Give an XML file, a folder or a zip."
        )
    return documents


def _naptan_table(naptan: gpd.GeoDataFrame | str | os.PathLike[str]) -> gpd.GeoDataFrame:
    if isinstance(naptan, (str, os.PathLike, list, tuple)):
        from transport_access.load.naptan import load_naptan

        return load_naptan(naptan)
    return naptan


def _write_naptan_csv(stops: gpd.GeoDataFrame) -> Path:
    """The stops as the CSV transx2gtfs reads (ATCOCode, CommonName, Latitude, Longitude)."""
    table = pd.DataFrame(
        {
            "ATCOCode": stops["atco_code"].astype(str).to_numpy(),
            "CommonName": stops["name"].astype(str).to_numpy(),
            "Latitude": stops.geometry.y.round(6).to_numpy(),
            "Longitude": stops.geometry.x.round(6).to_numpy(),
        }
    ).drop_duplicates("ATCOCode")
    text = table.to_csv(index=False)
    folder = cache_dir() / "transxchange"
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(suffix=".csv", prefix="naptan-", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    return Path(name)


_MISSING_ROWS = re.compile(
    r"(\d+) stop_times row\(s\) at stops missing from NaPTAN \([^)]*\) left out of "
    r"(\d+) trip\(s\)(?:; (\d+) trip\(s\) left with fewer than two stops dropped)?"
)


def _conversion_counts(log_file: Path) -> dict[str, int]:
    """What transx2gtfs left out, read from its log of the conversion."""
    text = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
    counts = {"never_operating": 0, "missing_rows": 0, "trips_affected": 0, "trips_lost": 0}
    counts["never_operating"] = len(
        set(re.findall(r"VehicleJourney '([^']*)' never operates", text))
    )
    # Each warning is logged once by the worker; count each distinct message once.
    for rows, trips, lost in set(_MISSING_ROWS.findall(text)):
        counts["missing_rows"] += int(rows)
        counts["trips_affected"] += int(trips)
        counts["trips_lost"] += int(lost or 0)
    return counts


def convert_transxchange(
    path: str | os.PathLike[str],
    *,
    naptan: gpd.GeoDataFrame | str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    report: DataReport | None = None,
) -> gtfs_kit.Feed:
    """Convert TransXChange XML to a GTFS feed, offline, with stops placed from NaPTAN.

    Parameters
    ----------
    path : path-like
        A TransXChange ``.xml`` file, a folder of them, or a zip of them.
    naptan : GeoDataFrame or path-like
        Stops from :func:`transport_access.load.naptan.load_naptan`, or NaPTAN CSV path(s)
        to load with it. Stops missing from it are reported and left out (see the module
        docstring).
    out : path-like, optional
        Where to write the GTFS zip; by default a file in the package cache, reused while
        the inputs are unchanged.
    report : DataReport, optional
        Receives one entry for the conversion (trips converted; journeys that never
        operate; stop calls at stops missing from NaPTAN, with their ATCO codes).

    Returns
    -------
    gtfs_kit.Feed
        In kilometres. Its service_ids start with the TransXChange ServiceCode
        (``"42-1X-_-y10-1_20141215_..."``).

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    FileFormatError
        The input is not TransXChange, or converts to no trips.
    """
    from transport_access.load.gtfs import read_gtfs

    path = Path(path)
    if not path.exists():
        raise MissingFileError(
            path, "TransXChange input does not exist.", "Check the timetable path."
        )
    documents = _parse_documents(path)
    stops = _naptan_table(naptan)
    known = set(stops["atco_code"].astype(str))
    missing = sorted({s for d in documents for s in d["stops"]} - known)  # type: ignore[attr-defined]

    naptan_csv = _write_naptan_csv(stops)
    try:
        key = cache_key(
            "transxchange",
            [path, naptan_csv],
            {"version": _CONVERTER_VERSION, "transx2gtfs": _transx2gtfs_version()},
        )
        cached = cache_dir() / "transxchange" / f"{key}.zip"
        target = Path(out) if out is not None else cached
        # What the conversion left out is kept beside the cached feed, for the report.
        summary_file = cached.with_suffix(".summary.json")
        if out is None and cached.exists() and summary_file.exists():
            log.info("%s: using the cached conversion %s", path, cached)
            counts = json.loads(summary_file.read_text())
        else:
            counts = _run_transx2gtfs(path, naptan_csv, target)
            if out is None:
                summary_file.write_text(json.dumps(counts))
    finally:
        naptan_csv.unlink(missing_ok=True)

    feed = _name_routes(read_gtfs(target, name=path.name), documents)
    if missing:
        log.warning(
            "%s: %d stops in the timetable are not in NaPTAN; their stop times are left out "
            "and the trips keep their other stops: %s",
            path,
            len(missing),
            ", ".join(missing),
        )
    if report is not None:
        report.add(
            f"TransXChange {path.name}",
            "converted to GTFS",
            len(feed.trips),
            {
                "vehicle journeys that never operate": counts["never_operating"],
                "trips left with fewer than two stops": counts["trips_lost"],
            },
            detail=(
                f"{len(documents)} file(s); stops missing from NaPTAN: "
                f"{', '.join(missing) if missing else 'none'} ({counts['missing_rows']:,} stop "
                f"times left out of {counts['trips_affected']:,} trips, which keep their "
                "other stops)"
            ),
        )
    return feed


def _name_routes(feed: gtfs_kit.Feed, documents: list[dict[str, object]]) -> gtfs_kit.Feed:
    """Give each route its TransXChange LineName ("24"), which transx2gtfs leaves as an ID.

    transx2gtfs names routes ``R_{ServiceCode}-{direction}-{n}``; planners know them by the
    line name on the bus, which scenario files and reports use.
    """
    lines = {
        str(service["service_code"]): str(service["line_name"])
        for document in documents
        for service in document.get("services", [])  # type: ignore[union-attr]
        if service.get("line_name")
    }
    if not lines or feed.routes is None:
        return feed
    codes = feed.routes["route_id"].astype(str).str.extract(r"^R_(.+)-[HR]-\d+$")[0]
    names = codes.map(lines)
    routes = feed.routes.copy()
    routes["route_short_name"] = names.fillna(routes["route_short_name"])
    feed.routes = routes
    return feed


def _transx2gtfs_version() -> str:
    from importlib.metadata import version

    return version("transx2gtfs")


def _run_transx2gtfs(path: Path, naptan_csv: Path, target: Path) -> dict[str, int]:
    """Run the conversion into ``target``; return what it left out (see the log parser)."""
    from transx2gtfs.converter import convert

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="txc-", dir=target.parent) as scratch:
        scratch_zip = Path(scratch) / "feed.zip"
        log_file = Path(scratch) / "transx2gtfs.log"
        log.info("%s: converting TransXChange to GTFS (transx2gtfs, offline)", path)
        source = path
        if path.is_file() and not zipfile.is_zipfile(path):
            # transx2gtfs reads folders and zips only.
            source = Path(scratch) / "input"
            source.mkdir()
            shutil.copyfile(path, source / path.name)
        with _offline_transx2gtfs(_bank_holidays_file(), log_file):
            try:
                convert(
                    str(source),
                    str(scratch_zip),
                    worker_cnt=1,
                    naptan_path=str(naptan_csv),
                    log_file=str(log_file),
                )
            except ValueError as error:
                raise FileFormatError(path, f"TransXChange conversion failed: {error}") from None
        counts = _conversion_counts(log_file)
        os.replace(scratch_zip, target)
    return counts


def transxchange_services(
    path: str | os.PathLike[str],
    feed: gtfs_kit.Feed,
    *,
    day: dt.date | None = None,
) -> pd.DataFrame:
    """One row per TransXChange service: line, operator and trips, for the data report.

    Parameters
    ----------
    path : path-like
        The TransXChange input given to :func:`convert_transxchange`.
    feed : gtfs_kit.Feed
        Its conversion.
    day : datetime.date, optional
        Count the trips running on this date too.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SERVICE_COLUMNS`: ``file``, ``service_code``, ``line_name``,
        ``operator``, ``start_date`` and ``end_date`` (operating period, ISO dates),
        ``vehicle_journeys`` (in the XML), ``trips`` (converted) and ``trips_on_day``
        (<NA> without ``day``).
    """
    from transport_access.load.gtfs import service_ids_on

    service_ids = feed.trips["service_id"].astype(str)
    running = service_ids_on(feed, day) if day is not None else set()
    rows = []
    for document in _parse_documents(Path(path)):
        for service in document["services"]:  # type: ignore[attr-defined]
            mine = service_ids.str.startswith(f"{service['service_code']}_").to_numpy()
            rows.append(
                {
                    "file": document["file"],
                    **service,
                    "operator": document["operator"],
                    "vehicle_journeys": document["vehicle_journeys"],
                    "trips": int(mine.sum()),
                    "trips_on_day": int(service_ids[mine].isin(running).sum())
                    if day is not None
                    else pd.NA,
                }
            )
    return pd.DataFrame(rows, columns=SERVICE_COLUMNS)
